//! The runtime: boxed values, the garbage-collected heap and its objects.

pub mod gc;
pub mod host;
pub mod object;
pub mod value;

pub use value::{Tag, Val};
