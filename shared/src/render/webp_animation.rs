//! libwebp's animation encoder, fed one frame at a time. (The `webp` crate's `AnimEncoder` keeps
//! every frame, and a converted copy of each, until the end: an animation's memory would grow
//! with its length.) Only our own rendered pixels reach it.

use std::ptr::NonNull;

use libwebp_sys as sys;

use super::{encode::failed, RenderError};

/// The shortest frame browsers honour; shorter delays are played at about 100 ms.
const MIN_DELAY_MS: u32 = 20;

pub struct WebPAnimation {
    encoder: NonNull<sys::WebPAnimEncoder>,
    config: sys::WebPConfig,
    size: (u32, u32),
    /// When the next frame starts, in ms.
    timestamp: i32,
}

// SAFETY: the encoder is owned by this value alone and libwebp keeps no thread-local state.
unsafe impl Send for WebPAnimation {}

fn mux_abi() -> i32 {
    sys::WEBP_MUX_ABI_VERSION as i32
}

impl WebPAnimation {
    pub fn new(width: u32, height: u32, quality: u8) -> Result<Self, RenderError> {
        let too_large = || RenderError::Encode(format!("{width}x{height} is too large for WebP"));
        let (w, h) = (i32::try_from(width).map_err(|_| too_large())?, i32::try_from(height).map_err(|_| too_large())?);
        let mut config = sys::WebPConfig::new().map_err(|()| failed("WebPConfigInit"))?;
        config.quality = f32::from(quality);
        let mut options = std::mem::MaybeUninit::<sys::WebPAnimEncoderOptions>::uninit();
        // SAFETY: the init function fills every field of `options` (loop count 0: forever).
        let options = unsafe {
            if sys::WebPAnimEncoderOptionsInitInternal(options.as_mut_ptr(), mux_abi()) == 0 {
                return Err(failed("WebPAnimEncoderOptionsInit"));
            }
            options.assume_init()
        };
        // SAFETY: `options` is initialised; a null result is an allocation failure.
        let encoder = unsafe { sys::WebPAnimEncoderNewInternal(w, h, &options, mux_abi()) };
        let encoder = NonNull::new(encoder).ok_or_else(too_large)?;
        Ok(Self { encoder, config, size: (width, height), timestamp: 0 })
    }

    fn error(&self) -> RenderError {
        // SAFETY: the encoder is live; the message is a C string owned by it.
        let message = unsafe { sys::WebPAnimEncoderGetError(self.encoder.as_ptr()) };
        if message.is_null() {
            return failed("WebPAnimEncoder failed");
        }
        // SAFETY: non-null and NUL-terminated, valid until the next call on the encoder.
        RenderError::Encode(unsafe { std::ffi::CStr::from_ptr(message) }.to_string_lossy().into_owned())
    }

    /// Encodes one frame of the canvas' size, shown for `delay_ms`.
    pub fn add(&mut self, rgba: &image::RgbaImage, delay_ms: u32) -> Result<(), RenderError> {
        if rgba.dimensions() != self.size {
            return Err(failed("a frame differs from the animation's size"));
        }
        let mut picture = sys::WebPPicture::new().map_err(|()| failed("WebPPictureInit"))?;
        picture.use_argb = 1;
        picture.width = self.size.0 as i32;
        picture.height = self.size.1 as i32;
        // SAFETY: `rgba` holds width × height × 4 bytes, rows of width × 4; libwebp copies them
        // into `picture`, which is freed before this returns.
        let added = unsafe {
            let imported = sys::WebPPictureImportRGBA(&mut picture, rgba.as_ptr(), picture.width * 4);
            let added = imported != 0
                && sys::WebPAnimEncoderAdd(self.encoder.as_ptr(), &mut picture, self.timestamp, &self.config) != 0;
            sys::WebPPictureFree(&mut picture);
            added
        };
        if !added {
            return Err(self.error());
        }
        let delay = i32::try_from(delay_ms.max(MIN_DELAY_MS)).unwrap_or(i32::MAX);
        self.timestamp = self.timestamp.saturating_add(delay);
        Ok(())
    }

    /// The WebP file of every frame added.
    pub fn finish(self) -> Result<Vec<u8>, RenderError> {
        let mut data = sys::WebPData::default();
        // SAFETY: a null frame ends the animation at `timestamp` (the last frame's end); the
        // assembled bytes are copied out, then freed by libwebp's own allocator.
        unsafe {
            if sys::WebPAnimEncoderAdd(self.encoder.as_ptr(), std::ptr::null_mut(), self.timestamp, std::ptr::null())
                == 0
                || sys::WebPAnimEncoderAssemble(self.encoder.as_ptr(), &mut data) == 0
            {
                return Err(self.error());
            }
            let bytes = std::slice::from_raw_parts(data.bytes, data.size).to_vec();
            sys::WebPDataClear(&mut data);
            Ok(bytes)
        }
    }
}

impl Drop for WebPAnimation {
    fn drop(&mut self) {
        // SAFETY: created by WebPAnimEncoderNew and deleted only here.
        unsafe { sys::WebPAnimEncoderDelete(self.encoder.as_ptr()) }
    }
}
