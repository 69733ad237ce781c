//! What the three container-format targets check, for one format's decoder
//! (`media::decoders::of`): the header never panics, and a decode within a small pixel cap returns
//! pixels of the header's size or an error.

use imgcloud_core::media::{decoders, Format};

pub fn check(format: Format, data: &[u8]) {
    let decoder = decoders::of(format).expect("a container format");
    let Ok(header) = (decoder.header)(data) else { return };
    if u64::from(header.width) * u64::from(header.height) > 1 << 22 {
        return;
    }
    if let Ok(pixels) = (decoder.decode)(data, &header) {
        assert_eq!((pixels.width(), pixels.height()), (header.width, header.height));
    }
}
