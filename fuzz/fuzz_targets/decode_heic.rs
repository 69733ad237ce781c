//! Any bytes through the heic decoder (`media::decoders::heic`): the header never panics, and a
//! decode within a small pixel cap returns pixels of the header's size or an error.
#![no_main]

use imgcloud_core::media::decoders::heic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = heic::header(data) else { return };
    if u64::from(header.width) * u64::from(header.height) > 1 << 22 {
        return;
    }
    if let Ok(pixels) = heic::decode(data, &header) {
        assert_eq!((pixels.width(), pixels.height()), (header.width, header.height));
    }
});
