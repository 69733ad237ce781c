//! Any bytes through the jxl decoder (`media::decoders::jxl`), checked as `container.rs` says.
#![no_main]

mod container;

use imgcloud_core::media::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| container::check(Format::Jxl, data));
