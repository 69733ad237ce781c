//! img-cloud's core: the domain, the storage ports with their embedded backends, and one HTTP
//! router that every shape (Lambda functions, the local `imgcloud` server) mounts.
//!
//! The core never knows which shape it runs in: adapters hand it a [`config::Config`] and get back
//! an [`axum::Router`] (see [`http::api_routes`], [`http::upload_routes`], [`http::delivery_routes`]).

pub mod analysis;
pub mod app;
pub mod auth;
pub mod cdn;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod gc;
pub mod http;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod limits;
pub mod media;
pub mod render;
pub mod secrets;
pub mod services;
pub mod signing;
pub mod single_flight;
pub mod store;
pub mod telemetry;
pub mod transform;
pub mod usage;

pub use app::App;
pub use config::Config;
pub use error::AppError;
