//! Photo preparation for `addpicture`: the API accepts only JPEG, GIF and BMP, and the service
//! (like the sandbox) refuses pictures above a size limit. [`prepare`] passes acceptable images
//! through untouched and re-encodes everything else it can decode as a JPEG, downscaling until the
//! result fits. Bytes in, bytes out; the only shared state is the process-wide [`PHOTO_MEMORY`]
//! budget that bounds what the pictures being decoded hold at once, all threads together.

use std::io::{self, Cursor, Write};
use std::sync::{Condvar, LazyLock, Mutex};

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use crate::wire::ImageType;

/// JPEG quality used whenever a picture has to be re-encoded.
pub const JPEG_QUALITY: u8 = 85;

/// Memory the pictures being decoded may hold at once, all reading workers together, unless
/// [`PHOTO_MEMORY_ENV`] says otherwise. A picture that would need more on its own (a decompression
/// bomb: a few hundred KB of PNG that inflate to gigabytes) is refused from its header, before any
/// pixel is decoded; pictures that fit wait for each other. 200 MB decodes a 50-megapixel camera
/// JPEG (see `docs/limits.md` for what it means per format).
pub const DEFAULT_PHOTO_MEMORY: u64 = 200_000_000;
/// Environment variable raising (or lowering) [`DEFAULT_PHOTO_MEMORY`], in megabytes.
pub const PHOTO_MEMORY_ENV: &str = "ORANGE_CONTACTS_PHOTO_MEMORY_MB";
/// A decoded picture larger than this is first shrunk to it (area averaging, integer): the JPEG
/// that fits `max_bytes` is far smaller anyway, and every later copy stays this small.
const WORKING_PIXELS: u64 = 8_000_000;
/// Below this side length a downscaled photo is useless; give up instead.
const MIN_SIDE: u32 = 16;

/// The budget every [`prepare`] call reserves its decoding memory from.
pub static PHOTO_MEMORY: LazyLock<MemoryBudget> = LazyLock::new(|| {
    let megabytes = std::env::var(PHOTO_MEMORY_ENV).ok().and_then(|v| v.trim().parse::<u64>().ok());
    MemoryBudget::new(megabytes.map_or(DEFAULT_PHOTO_MEMORY, |mb| mb.saturating_mul(1_000_000)))
});

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
/// - Needing more memory to decode than the whole [`PHOTO_MEMORY`] budget: `Err`, told from the
///   header alone. Otherwise the call waits until its share of the budget is free.
///
/// `declared` (the source's media type) only serves to name the format in messages when the
/// bytes themselves are not recognised.
pub fn prepare(bytes: &[u8], declared: Option<&str>, max_bytes: usize) -> Result<PlannedPhoto, String> {
    prepare_within(bytes, declared, max_bytes, &PHOTO_MEMORY)
}

fn prepare_within(
    bytes: &[u8],
    declared: Option<&str>,
    max_bytes: usize,
    budget: &MemoryBudget,
) -> Result<PlannedPhoto, String> {
    if bytes.is_empty() {
        return Err("photo is empty".to_string());
    }
    let sniffed = ImageType::sniff(bytes);
    if let Some(image_type) = sniffed {
        if bytes.len() <= max_bytes {
            return Ok(PlannedPhoto { bytes: bytes.to_vec(), image_type, converted_from: None });
        }
    }

    let unreadable = |e: String| {
        let what = declared.map(|d| format!(" (declared {d})")).unwrap_or_default();
        format!("photo is not a readable image{what}: {e}")
    };
    let (format, mut decoder) = open_decoder(bytes, budget).map_err(unreadable)?;
    let (w, h) = decoder.dimensions();
    let need = decoding_memory(format, bytes, &decoder, max_bytes);
    let Some(_reservation) = budget.reserve(need) else {
        return Err(format!(
            "photo is too large to decode: {w}x{h} pixels ({:.0} megapixels) would need about {} MB, \
             more than the {} MB photo memory ({PHOTO_MEMORY_ENV}, see docs/limits.md)",
            f64::from(w) * f64::from(h) / 1e6,
            need.div_ceil(1_000_000),
            budget.capacity() / 1_000_000,
        ));
    };
    // Phones store portraits sideways plus an EXIF rotation: apply it, since re-encoding drops EXIF.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(|e| unreadable(e.to_string()))?;
    let rgb = working_copy(image, orientation);

    let format_name = format
        .extensions_str()
        .first()
        .map(|e| if *e == "jpg" { "jpeg" } else { e })
        .map(str::to_string)
        .or_else(|| declared.map(|d| d.trim().trim_start_matches("image/").to_ascii_lowercase()))
        .unwrap_or_else(|| "image".to_string());
    // As it is shown: a portrait stored sideways is named by its upright size.
    let (w, h) = if swaps_sides(orientation) { (h, w) } else { (w, h) };

    // Full (working) size first: a PNG screenshot usually fits once it is a JPEG.
    let encoded = encode_jpeg(&rgb, max_bytes)?;
    if let Encoded::Fits(encoded) = encoded {
        let from = if (rgb.width(), rgb.height()) == (w, h) {
            format_name
        } else {
            format!(
                "{format_name} {w}x{h} {} bytes, downscaled to {}x{}",
                bytes.len(),
                rgb.width(),
                rgb.height()
            )
        };
        return Ok(PlannedPhoto { bytes: encoded, image_type: ImageType::Jpeg, converted_from: Some(from) });
    }

    // JPEG size grows roughly with the pixel count: scale both sides by sqrt(max/size), with a
    // margin, and shrink further (×0.75) while it still does not fit.
    let mut factor = ((max_bytes as f64 / encoded.len() as f64).sqrt() * 0.9).min(0.9);
    loop {
        let nw = ((rgb.width() as f64 * factor).round() as u32).max(1);
        let nh = ((rgb.height() as f64 * factor).round() as u32).max(1);
        if nw < MIN_SIDE || nh < MIN_SIDE {
            return Err(format!(
                "photo cannot be made smaller than {max_bytes} bytes (original {w}x{h}, {} bytes)",
                bytes.len()
            ));
        }
        let scaled = image::imageops::thumbnail(&rgb, nw, nh);
        if let Encoded::Fits(encoded) = encode_jpeg(&scaled, max_bytes)? {
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

/// Side of a report thumbnail, in pixels (the HTML report shows it at 48 CSS pixels).
pub const THUMBNAIL_SIDE: u32 = 64;
/// A report thumbnail larger than this is left out: 5,000 of them keep the page a few megabytes.
pub const THUMBNAIL_MAX_BYTES: usize = 8_000;

/// A small JPEG of a picture (at most [`THUMBNAIL_SIDE`] pixels a side, at most
/// [`THUMBNAIL_MAX_BYTES`]), for the HTML report; `None` when it cannot be made. Decoding
/// reserves its memory from [`PHOTO_MEMORY`] as [`prepare`] does.
pub fn thumbnail(bytes: &[u8]) -> Option<Vec<u8>> {
    let budget = &*PHOTO_MEMORY;
    let (format, decoder) = open_decoder(bytes, budget).ok()?;
    let _reservation = budget.reserve(decoding_memory(format, bytes, &decoder, THUMBNAIL_MAX_BYTES))?;
    let mut decoder = decoder;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).ok()?;
    let small = working_copy(image.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE), orientation);
    let mut out = CappedBuffer { bytes: Vec::new(), len: 0, cap: THUMBNAIL_MAX_BYTES };
    JpegEncoder::new_with_quality(&mut out, 70).encode_image(&small).ok()?;
    (out.len <= THUMBNAIL_MAX_BYTES).then_some(out.bytes)
}

/// The picture's format and a decoder that has read its header (dimensions, pixel format) and
/// no pixel yet.
fn open_decoder<'a>(
    bytes: &'a [u8],
    budget: &MemoryBudget,
) -> Result<(ImageFormat, impl ImageDecoder + 'a), String> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    let format = reader.format().ok_or("unknown image format")?;
    let mut limits = Limits::default();
    // What `decoding_memory` estimates is reserved; this only stops a decoder going far beyond.
    limits.max_alloc = Some(budget.capacity());
    reader.limits(limits);
    Ok((format, reader.into_decoder().map_err(|e| e.to_string())?))
}

/// The decoded picture as 8-bit RGB, shrunk to [`WORKING_PIXELS`] first when larger (so no copy
/// of the full-size picture is ever made), upright.
fn working_copy(image: DynamicImage, orientation: Orientation) -> RgbImage {
    let (w, h) = (image.width(), image.height());
    let pixels = u64::from(w) * u64::from(h);
    let image = if pixels > WORKING_PIXELS {
        let scale = (WORKING_PIXELS as f64 / pixels as f64).sqrt();
        let side = |s: u32| ((f64::from(s) * scale) as u32).max(1);
        image.thumbnail_exact(side(w), side(h))
    } else {
        image
    };
    let mut upright = DynamicImage::ImageRgb8(image.into_rgb8());
    upright.apply_orientation(orientation);
    upright.into_rgb8()
}

fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The most memory [`prepare`] holds at once for this picture, from its header: the decoded
/// pixels plus what the decoder keeps beside them, then the working copy and its scaled copies.
/// An estimate on the safe side, reserved from the budget before decoding.
fn decoding_memory(format: ImageFormat, bytes: &[u8], decoder: &impl ImageDecoder, max_bytes: usize) -> u64 {
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    let decoded = decoder.total_bytes();
    let pixel_bytes = u64::from(decoder.color_type().bytes_per_pixel());
    let decoder_own = match format {
        // zune-jpeg copies the input, and keeps every coefficient (i16 per sample, MCU-padded)
        // when the picture comes in several scans.
        ImageFormat::Jpeg => {
            let coefficient_bytes = match jpeg_scans(bytes) {
                Some(JpegScans { whole_image: false, .. }) => 0,
                Some(JpegScans { components, whole_image: true }) => 2 * u64::from(components),
                // Layout unknown: as if progressive with four components.
                None => 2 * 4,
            };
            bytes.len() as u64 + coefficient_bytes * (u64::from(w) + 16) * (u64::from(h) + 16)
        }
        // Decoded row by row straight into the output.
        ImageFormat::Png | ImageFormat::Bmp => 0,
        // GIF frames off the canvas, WebP's YUV planes or ARGB words, TIFF's decoding buffer.
        _ => 2 * decoded,
    };
    let working = pixels.min(WORKING_PIXELS);
    let decoding = decoded + decoder_own;
    let shrinking = decoded + working * pixel_bytes.max(3);
    let converting = working * (pixel_bytes + 3);
    // The upright or scaled copy beside the working one, and the JPEG being written.
    let encoding = working * 3 * 2 + 2 * max_bytes as u64;
    decoding.max(shrinking).max(converting).max(encoding) + (1 << 20)
}

/// What a JPEG's headers say about its decoding cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JpegScans {
    components: u8,
    /// Progressive, or a first scan without every component: the decoder then keeps the
    /// coefficients of the whole picture until the last scan.
    whole_image: bool,
}

/// Reads the JPEG markers up to the first scan; `None` when they cannot be followed.
fn jpeg_scans(bytes: &[u8]) -> Option<JpegScans> {
    let mut at = 2;
    let (mut components, mut progressive) = (None, false);
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            // Fill byte, or a marker without a length.
            0xFF => at += 1,
            0x01 | 0xD0..=0xD8 => at += 2,
            _ => {
                let len = usize::from(u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]));
                let segment = bytes.get(at + 4..at + 2 + len)?;
                match marker {
                    // Start of frame (not DHT C4, JPG C8, DAC CC): Nf is the sixth byte.
                    0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                        components = Some(*segment.get(5)?);
                        progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
                    }
                    0xDA => {
                        let components = components?;
                        let in_scan = *segment.first()?;
                        return Some(JpegScans {
                            components,
                            whole_image: progressive || in_scan < components,
                        });
                    }
                    _ => {}
                }
                at += 2 + len;
            }
        }
    }
}

/// A JPEG encoding: its bytes when they fit the limit, else only how many there would be (the
/// encoder keeps writing, but nothing past the limit is stored).
enum Encoded {
    Fits(Vec<u8>),
    TooBig(usize),
}

impl Encoded {
    fn len(&self) -> usize {
        match self {
            Encoded::Fits(bytes) => bytes.len(),
            Encoded::TooBig(len) => *len,
        }
    }
}

fn encode_jpeg(image: &RgbImage, max_bytes: usize) -> Result<Encoded, String> {
    let mut out = CappedBuffer { bytes: Vec::new(), len: 0, cap: max_bytes };
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(image)
        .map_err(|e| format!("photo could not be re-encoded as JPEG: {e}"))?;
    Ok(if out.len <= max_bytes { Encoded::Fits(out.bytes) } else { Encoded::TooBig(out.len) })
}

/// Stores the first `cap` bytes written and counts the rest.
struct CappedBuffer {
    bytes: Vec<u8>,
    len: usize,
    cap: usize,
}

impl Write for CappedBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.len + buf.len() <= self.cap {
            self.bytes.extend_from_slice(buf);
        }
        self.len += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes of memory shared by threads: [`MemoryBudget::reserve`] waits until the amount is free.
#[derive(Debug)]
pub struct MemoryBudget {
    capacity: u64,
    in_use: Mutex<u64>,
    released: Condvar,
}

impl MemoryBudget {
    pub fn new(capacity: u64) -> MemoryBudget {
        MemoryBudget { capacity, in_use: Mutex::new(0), released: Condvar::new() }
    }

    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Takes `bytes` from the budget, waiting for other holders to give theirs back; `None` when
    /// `bytes` exceeds the whole budget (it could never be granted).
    pub fn reserve(&self, bytes: u64) -> Option<Reservation<'_>> {
        if bytes > self.capacity {
            return None;
        }
        let mut in_use = self.in_use.lock().unwrap_or_else(|p| p.into_inner());
        while *in_use + bytes > self.capacity {
            in_use = self.released.wait(in_use).unwrap_or_else(|p| p.into_inner());
        }
        *in_use += bytes;
        Some(Reservation { budget: self, bytes })
    }

    /// Bytes reserved at the moment.
    pub fn in_use(&self) -> u64 {
        *self.in_use.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A share of a [`MemoryBudget`], given back when dropped (a panic while decoding included).
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        *self.budget.in_use.lock().unwrap_or_else(|p| p.into_inner()) -= self.bytes;
        self.budget.released.notify_all();
    }
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

    /// A small baseline JPEG whose frame header claims `w`×`h` (the decoders read no further
    /// before the budget decides), as progressive when `sof` is 0xC2.
    fn jpeg_claiming(w: u16, h: u16, sof: u8) -> Vec<u8> {
        let mut jpeg = encode(&DynamicImage::ImageRgb8(gradient(32, 32).to_rgb8()), ImageFormat::Jpeg);
        let at = jpeg.windows(2).position(|m| m == [0xFF, 0xC0]).expect("baseline frame header");
        jpeg[at + 1] = sof;
        jpeg[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
        jpeg[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
        jpeg
    }

    fn estimate(bytes: &[u8]) -> u64 {
        let (format, decoder) = open_decoder(bytes, &PHOTO_MEMORY).unwrap();
        decoding_memory(format, bytes, &decoder, MIB)
    }

    #[test]
    fn decompression_bomb_is_refused_from_its_header() {
        let bomb = jpeg_claiming(13_000, 13_000, 0xC0);
        assert!(bomb.len() < 2000);
        let budget = MemoryBudget::new(DEFAULT_PHOTO_MEMORY);
        // A JPEG within the size limit is sent as it is, never decoded: make it too big to be.
        let err = prepare_within(&bomb, Some("image/jpeg"), 100, &budget).unwrap_err();
        assert!(
            err.starts_with("photo is too large to decode: 13000x13000 pixels (169 megapixels)"),
            "{err}"
        );
        assert!(err.contains("more than the 200 MB photo memory (ORANGE_CONTACTS_PHOTO_MEMORY_MB"), "{err}");
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn camera_pictures_fit_the_default_photo_memory() {
        // A 50 MP phone camera (8160×6120) writes baseline JPEGs: accepted.
        let camera = estimate(&jpeg_claiming(8160, 6120, 0xC0));
        assert!(camera <= DEFAULT_PHOTO_MEMORY, "{camera}");
        assert!(camera >= 3 * 8160 * 6120, "the decoded pixels at least: {camera}");
        // Progressive: the decoder keeps every coefficient (6 bytes a pixel more): refused.
        let progressive = estimate(&jpeg_claiming(8160, 6120, 0xC2));
        assert!(progressive > DEFAULT_PHOTO_MEMORY, "{progressive}");
        // 12 MP is far within.
        assert!(estimate(&jpeg_claiming(4032, 3024, 0xC0)) < DEFAULT_PHOTO_MEMORY / 2);
    }

    #[test]
    fn jpeg_scans_tell_progressive_from_baseline() {
        let baseline = jpeg_claiming(32, 32, 0xC0);
        assert_eq!(jpeg_scans(&baseline), Some(JpegScans { components: 3, whole_image: false }));
        let progressive = jpeg_claiming(32, 32, 0xC2);
        assert_eq!(jpeg_scans(&progressive), Some(JpegScans { components: 3, whole_image: true }));
        assert_eq!(jpeg_scans(&baseline[..20]), None);
    }

    #[test]
    fn photo_memory_waits_for_what_is_given_back_and_refuses_more_than_all() {
        let budget = MemoryBudget::new(100);
        assert!(budget.reserve(101).is_none());
        let first = budget.reserve(60).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| {
                let _second = budget.reserve(60).unwrap();
                budget.in_use()
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
            assert!(!waiter.is_finished(), "60 + 60 granted out of 100");
            assert_eq!(budget.in_use(), 60);
            drop(first);
            assert_eq!(waiter.join().unwrap(), 60);
        });
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn large_picture_is_shrunk_to_the_working_size_first() {
        // 4000×2500 = 10 MP, over the 8 MP working size: converted from the shrunk copy.
        let png = encode(&gradient(4000, 2500), ImageFormat::Png);
        let p = prepare(&png, None, 4 * MIB).unwrap();
        let back = image::load_from_memory(&p.bytes).unwrap();
        assert!(u64::from(back.width()) * u64::from(back.height()) <= WORKING_PIXELS);
        let ratio = back.width() as f64 / back.height() as f64;
        assert!((ratio - 1.6).abs() < 0.01, "ratio {ratio}");
        let from = p.converted_from.unwrap();
        assert!(from.starts_with("png 4000x2500 ") && from.contains("downscaled to"), "{from}");
    }

    #[test]
    fn impossible_limit_is_an_error_not_a_loop() {
        let png = encode(&noise(64, 64), ImageFormat::Png);
        let err = prepare(&png, None, 10).unwrap_err();
        assert!(err.contains("cannot be made smaller"), "{err}");
    }
}
