//! The application's protocols, as plain async functions over the ports: what a request does,
//! whichever shape serves it. Handlers in `http/` parse, call one of these and map the result.

pub mod signed;
pub mod upload;
pub mod usage;
pub mod variant;

pub mod api_keys;
// On the embedded store, which every workspace build has (the local server asks for it).
#[cfg(all(test, feature = "embedded"))]
mod tests;
pub mod users;
