//! Photo preparation for `addpicture`: the API accepts only JPEG, GIF and BMP, and the service
//! (like the sandbox) refuses pictures above a size limit. [`prepare`] passes acceptable images
//! through untouched and re-encodes everything else it can decode as a JPEG, downscaling until the
//! result fits. Pure: bytes in, bytes out.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::wire::ImageType;

/// JPEG quality used whenever a picture has to be re-encoded.
pub const JPEG_QUALITY: u8 = 85;

/// Largest picture side the decoder accepts: larger images are refused rather than risking a
/// decompression bomb on a file we only want as a contact thumbnail.
const MAX_DECODE_SIDE: u32 = 16_384;
/// Memory the decoder may allocate for one picture.
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Below this side length a downscaled photo is useless; give up instead.
const MIN_SIDE: u32 = 16;

/// A picture ready for `addpicture`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPhoto {
    pub bytes: Vec<u8>,
    pub image_type: ImageType,
    /// What the source picture was when the bytes differ from it (`png`, or
    /// `jpeg 4000x3000 3145728 bytes, downscaled to 1000x750`); `None` when sent as it came.
    pub converted_from: Option<String>,
}

/// Turns a source picture into one the API accepts.
///
/// - JPEG/GIF/BMP (recognised by their bytes, not by `declared`) within `max_bytes`: unchanged.
/// - Any other format the `image` crate decodes (PNG, WebP, TIFF, …): re-encoded as JPEG.
/// - Too large (as is, or after conversion): scaled down and re-encoded as JPEG until it fits.
/// - Undecodable: `Err("photo is not a readable image: …")`.
///
/// `declared` (the source's media type) only serves to name the format in messages when the
/// bytes themselves are not recognised.
pub fn prepare(bytes: &[u8], declared: Option<&str>, max_bytes: usize) -> Result<PlannedPhoto, String> {
    if bytes.is_empty() {
        return Err("photo is empty".to_string());
    }
    let sniffed = ImageType::sniff(bytes);
    if let Some(image_type) = sniffed {
        if bytes.len() <= max_bytes {
            return Ok(PlannedPhoto { bytes: bytes.to_vec(), image_type, converted_from: None });
        }
    }

    let (image, format) = decode(bytes).map_err(|e| {
        let what = declared.map(|d| format!(" (declared {d})")).unwrap_or_default();
        format!("photo is not a readable image{what}: {e}")
    })?;
    let format_name = format
        .and_then(|f| f.extensions_str().first().copied())
        .map(str::to_string)
        .or_else(|| declared.map(|d| d.trim().trim_start_matches("image/").to_ascii_lowercase()))
        .unwrap_or_else(|| "image".to_string());
    let format_name = if format_name == "jpg" { "jpeg".to_string() } else { format_name };

    // Full size first: a PNG screenshot usually fits once it is a JPEG.
    let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
    let encoded = encode_jpeg(&rgb)?;
    if encoded.len() <= max_bytes {
        return Ok(PlannedPhoto {
            bytes: encoded,
            image_type: ImageType::Jpeg,
            converted_from: Some(format_name),
        });
    }

    // JPEG size grows roughly with the pixel count: scale both sides by sqrt(max/size), with a
    // margin, and shrink further (×0.75) while it still does not fit.
    let (w, h) = (rgb.width(), rgb.height());
    let mut factor = ((max_bytes as f64 / encoded.len() as f64).sqrt() * 0.9).min(0.9);
    loop {
        let nw = ((w as f64 * factor).round() as u32).max(1);
        let nh = ((h as f64 * factor).round() as u32).max(1);
        if nw < MIN_SIDE || nh < MIN_SIDE {
            return Err(format!(
                "photo cannot be made smaller than {max_bytes} bytes (original {w}x{h}, {} bytes)",
                bytes.len()
            ));
        }
        let scaled = rgb.resize_exact(nw, nh, FilterType::Triangle);
        let encoded = encode_jpeg(&scaled)?;
        if encoded.len() <= max_bytes {
            let from = format!("{format_name} {w}x{h} {} bytes, downscaled to {nw}x{nh}", bytes.len());
            return Ok(PlannedPhoto {
                bytes: encoded,
                image_type: ImageType::Jpeg,
                converted_from: Some(from),
            });
        }
        factor *= 0.75;
    }
}

fn decode(bytes: &[u8]) -> Result<(DynamicImage, Option<ImageFormat>), String> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let format = reader.format();
    if format.is_none() {
        return Err("unknown image format".to_string());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    if decoder.total_bytes() > MAX_DECODE_ALLOC {
        return Err(format!("image too large to decode ({} bytes of pixels)", decoder.total_bytes()));
    }
    // Phones store portraits sideways plus an EXIF rotation: apply it, since re-encoding drops EXIF.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    image.apply_orientation(orientation);
    Ok((image, format))
}

fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(image)
        .map_err(|e| format!("photo could not be re-encoded as JPEG: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    const MIB: usize = 1024 * 1024;

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgba8(RgbaImage::from_fn(w, h, |x, y| {
            Rgba([(x * 255 / w) as u8, (y * 255 / h) as u8, 128, if x < w / 2 { 255 } else { 100 }])
        }))
    }

    /// Pseudo-random noise compresses badly, which is what makes a big JPEG.
    fn noise(w: u32, h: u32) -> DynamicImage {
        let mut state: u32 = 0x1234_5678;
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |_, _| {
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            };
            Rgb([next(), next(), next()])
        }))
    }

    #[test]
    fn png_is_converted_to_jpeg() {
        let png = encode(&gradient(64, 48), ImageFormat::Png);
        let p = prepare(&png, Some("image/png"), MIB).unwrap();
        assert_eq!(p.image_type, ImageType::Jpeg);
        assert_eq!(ImageType::sniff(&p.bytes), Some(ImageType::Jpeg));
        assert_eq!(p.converted_from.as_deref(), Some("png"));
        let back = image::load_from_memory(&p.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (64, 48));
    }

    #[test]
    fn gif_and_small_jpeg_are_kept_as_they_are() {
        let gif = encode(&gradient(20, 20), ImageFormat::Gif);
        let p = prepare(&gif, None, MIB).unwrap();
        assert_eq!((p.image_type, p.converted_from.as_deref()), (ImageType::Gif, None));
        assert_eq!(p.bytes, gif);

        let jpeg = encode(&DynamicImage::ImageRgb8(gradient(30, 30).to_rgb8()), ImageFormat::Jpeg);
        // A wrong declared type does not matter: the bytes decide.
        let p = prepare(&jpeg, Some("image/png"), MIB).unwrap();
        assert_eq!((p.image_type, p.bytes.len()), (ImageType::Jpeg, jpeg.len()));
        assert!(p.converted_from.is_none());
    }

    #[test]
    fn bmp_is_kept_when_small() {
        let bmp = encode(&DynamicImage::ImageRgb8(gradient(10, 10).to_rgb8()), ImageFormat::Bmp);
        let p = prepare(&bmp, Some("image/bmp"), MIB).unwrap();
        assert_eq!(p.image_type, ImageType::Bmp);
        assert_eq!(p.bytes, bmp);
    }

    #[test]
    fn big_jpeg_is_downscaled_under_the_limit() {
        let mut jpeg = Vec::new();
        JpegEncoder::new_with_quality(&mut jpeg, 100).encode_image(&noise(1400, 1000)).unwrap();
        assert!(jpeg.len() > 3 * MIB, "test image only {} bytes", jpeg.len());
        let p = prepare(&jpeg, Some("image/jpeg"), MIB).unwrap();
        assert!(p.bytes.len() <= MIB, "{} bytes", p.bytes.len());
        assert_eq!(p.image_type, ImageType::Jpeg);
        let back = image::load_from_memory(&p.bytes).unwrap();
        assert!(back.width() < 1400 && back.height() < 1000);
        // Aspect ratio kept (within rounding).
        let ratio = back.width() as f64 / back.height() as f64;
        assert!((ratio - 1.4).abs() < 0.02, "ratio {ratio}");
        assert!(p.converted_from.unwrap().starts_with("jpeg 1400x1000"));
    }

    #[test]
    fn big_gif_becomes_a_smaller_jpeg() {
        let gif = encode(&noise(300, 300), ImageFormat::Gif);
        let limit = gif.len() / 4;
        let p = prepare(&gif, None, limit).unwrap();
        assert_eq!(p.image_type, ImageType::Jpeg);
        assert!(p.bytes.len() <= limit);
    }

    #[test]
    fn exif_rotation_is_applied_when_re_encoding() {
        // Big-endian TIFF header, one IFD entry: Orientation (0x0112), SHORT, 1, value 6 (90° CW).
        let exif =
            [b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut jpeg = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, 100);
        image::ImageEncoder::set_exif_metadata(&mut encoder, exif.to_vec()).unwrap();
        encoder.encode_image(&noise(80, 40)).unwrap();
        // Over the limit, so it is decoded and re-encoded: the rotation must survive.
        let p = prepare(&jpeg, None, jpeg.len() - 1).unwrap();
        let back = image::load_from_memory(&p.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (40, 80));
    }

    #[test]
    fn garbage_is_refused() {
        let err = prepare(b"this is not a picture at all", Some("image/jpeg"), MIB).unwrap_err();
        assert!(err.starts_with("photo is not a readable image"), "{err}");
        // Truncated PNG: right magic, broken body.
        let png = encode(&gradient(64, 48), ImageFormat::Png);
        let err = prepare(&png[..40], None, MIB).unwrap_err();
        assert!(err.starts_with("photo is not a readable image"), "{err}");
        assert!(prepare(b"", None, MIB).is_err());
    }

    #[test]
    fn impossible_limit_is_an_error_not_a_loop() {
        let png = encode(&noise(64, 64), ImageFormat::Png);
        let err = prepare(&png, None, 10).unwrap_err();
        assert!(err.contains("cannot be made smaller"), "{err}");
    }
}
