//! Any string: the parser never panics, and whatever it accepts survives a round trip through its
//! canonical form and plans a geometry within the caps.
#![no_main]

use imgcloud_core::transform::{plan, Transform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = Transform::parse(text) else { return };
    let canonical = t.canonical();
    assert_eq!(Transform::parse(&canonical).as_ref(), Ok(&t), "{canonical}");
    for source in [(1, 1), (1000, 500), (4000, 3000), (1, 65535)] {
        let p = plan(source, &t, 4000);
        assert!(p.canvas.0 >= 1 && p.canvas.1 >= 1 && p.canvas.0 <= 4000 && p.canvas.1 <= 4000, "{canonical}: {p:?}");
    }
});
