//! AWS SDK adapters and the plumbing they share.

pub mod call_counter;

pub use call_counter::CallCounter;
