//! Any bytes through the avif decoder (`media::decoders::avif`): the header never panics, and a
//! decode within a small pixel cap returns pixels of the header's size or an error.
#![no_main]

use imgcloud_core::media::decoders::avif;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = avif::header(data) else { return };
    if u64::from(header.width) * u64::from(header.height) > 1 << 22 {
        return;
    }
    if let Ok(pixels) = avif::decode(data, &header) {
        assert_eq!((pixels.width(), pixels.height()), (header.width, header.height));
    }
});
