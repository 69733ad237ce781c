//! Integration tests: the real `imgcloud` server on a free port with a temp data dir, driven over
//! HTTP. One binary, one `spawn_app()` (see `support`).

#[path = "../common/aws.rs"]
mod aws_emulator;

mod api_keys;
mod assets;
mod auth;
mod bounds;
mod colour;
mod connections;
mod delivery;
mod direct_upload;
mod durability;
mod formats;
mod gravity;
mod limits;
mod openapi;
mod presets;
mod request_ids;
mod routing;
mod security;
mod signed;
mod support;
mod transforms;
mod upload;
mod usage;
mod users;
