//! Lambda entry point of the cost reporter. The cost model and use case arrive with their
//! own issue; until then the binary says so and fails instead of reporting nothing as zero.

fn main() {
    eprintln!("cost-reporter: not built yet (the cost model is a later issue)");
    std::process::exit(1);
}
