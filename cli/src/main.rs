//! `plgov`, the operator command line. Its commands arrive with their own issue; until then
//! it says so and exits non-zero rather than pretending to work.

fn main() {
    eprintln!("plgov: no commands yet (the operator command line is a later issue)");
    std::process::exit(2);
}
