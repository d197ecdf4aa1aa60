//! PHOTO → [`Photo`]: inline data, data: URIs, links, bare base64, media types.

use base64::Engine as _;
use calcard::vcard::{VCardEntry, VCardParameterName, VCardParameterValue, VCardValue};

use super::values::value_text;
use crate::model::Photo;
use crate::wire::ImageType;

/// Media type from a photo's params: `MEDIATYPE`, `TYPE=JPEG`, `TYPE=image/png`, bare `;JPEG`.
fn declared_media_type(e: &VCardEntry) -> Option<String> {
    let mut candidates: Vec<String> = Vec::new();
    for p in &e.params {
        match (&p.name, &p.value) {
            (VCardParameterName::Mediatype | VCardParameterName::Type, v) => {
                if let Some(t) = v.as_text() {
                    candidates.push(t.to_string());
                }
            }
            (VCardParameterName::Other(n), VCardParameterValue::Null) => candidates.push(n.clone()),
            _ => {}
        }
    }
    candidates.iter().find_map(|c| media_type_name(c))
}

fn media_type_name(t: &str) -> Option<String> {
    let t = t.trim().to_ascii_lowercase();
    Some(
        match t.as_str() {
            "jpeg" | "jpg" | "pjpeg" => "image/jpeg",
            "png" => "image/png",
            "gif" => "image/gif",
            "bmp" => "image/bmp",
            "webp" => "image/webp",
            "tiff" | "tif" => "image/tiff",
            _ if t.starts_with("image/") => return Some(t),
            _ => return None,
        }
        .to_string(),
    )
}

/// Media type by magic bytes: the API's own formats as [`ImageType::sniff`] knows them, plus the
/// ones phones also export (converted to JPEG before sending).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if let Some(accepted) = ImageType::sniff(bytes) {
        Some(accepted.mime())
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else {
        None
    }
}

fn lenient_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    ENGINE
        .decode(cleaned.as_bytes())
        .ok()
        .or_else(|| general_purpose::URL_SAFE_NO_PAD.decode(cleaned.trim_end_matches('=')).ok())
}

pub(super) fn photo_of(e: &mut VCardEntry) -> Option<Photo> {
    let declared = declared_media_type(e);
    match e.values.first_mut()? {
        VCardValue::Binary(d) => {
            if d.data.is_empty() {
                return None;
            }
            let media_type = d
                .content_type
                .as_deref()
                .and_then(media_type_name)
                .or(declared)
                .or_else(|| sniff_image(&d.data).map(str::to_string));
            Some(Photo::Inline { bytes: std::mem::take(&mut d.data), media_type })
        }
        v => {
            let text = value_text(v)?;
            let t = text.trim();
            if t.is_empty() {
                return None;
            }
            let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
            if lower.starts_with("data:") {
                // calcard did not accept it (e.g. `data:base64\,…` without a media type).
                let body = &t[5..];
                let Some(comma) = body.find(',') else {
                    return Some(Photo::Unreadable("malformed data: URI".into()));
                };
                let meta = body[..comma].trim_end_matches('\\');
                if !meta.to_ascii_lowercase().contains("base64") {
                    return Some(Photo::Unreadable("data: URI is not base64".into()));
                }
                return Some(match lenient_base64(&body[comma + 1..]) {
                    Some(bytes) if !bytes.is_empty() => {
                        let media_type = meta
                            .split(';')
                            .next()
                            .and_then(media_type_name)
                            .or(declared)
                            .or_else(|| sniff_image(&bytes).map(str::to_string));
                        Photo::Inline { bytes, media_type }
                    }
                    _ => Photo::Unreadable("data: URI holds invalid base64".into()),
                });
            }
            if let Some(colon) = t.find(':') {
                let scheme = &t[..colon];
                if !scheme.is_empty()
                    && scheme.len() <= 10
                    && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    return Some(Photo::Uri(t.to_string()));
                }
            }
            // Base64 without ENCODING (Thunderbird), or base64 calcard rejected.
            match lenient_base64(t) {
                Some(bytes) => Some(match sniff_image(&bytes) {
                    Some(sniffed) => {
                        Photo::Inline { media_type: declared.or_else(|| Some(sniffed.to_string())), bytes }
                    }
                    None => Photo::Unreadable("PHOTO data is not a recognised image".into()),
                }),
                None => Some(Photo::Unreadable("PHOTO value is neither base64 image data nor a link".into())),
            }
        }
    }
}
