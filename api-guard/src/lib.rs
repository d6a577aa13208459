//! Nothing here: `tests/api.rs` names every item of the facade a frontend uses, with
//! its type, so that removing or changing one is a compile error in CI. Adding items
//! is free; changing these lines is a deliberate, breaking change of the API.
