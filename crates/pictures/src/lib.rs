//! Uploaded pictures (avatars, covers, author photos) made safe to serve. An upload is decoded
//! (PNG or JPEG, by its bytes, not its name or type) under bounds on its size, its dimensions
//! and the memory decoding may take, turned upright as its EXIF orientation says, flattened
//! onto white, scaled and re-encoded as JPEG in two sizes. Nothing of the upload but its pixels
//! survives (no metadata, no trailing bytes). A crate of its own so that it is compiled
//! optimised in every profile: the `image` crate's generic code is instantiated here, and
//! unoptimised it takes seconds for a phone photo.

use std::io::Cursor;

use image::{
    codecs::jpeg::JpegEncoder, imageops::FilterType, DynamicImage, ImageDecoder as _, ImageFormat, ImageReader,
    RgbImage,
};
use readstream_contracts::ImageId;

/// Largest upload accepted, in bytes.
pub const MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;
/// Largest picture accepted, in pixels (a 48-megapixel phone photo is 8000 × 6000).
pub const MAX_PIXELS: u64 = 50_000_000;
/// Longest side accepted, in pixels.
pub const MAX_SIDE: u32 = 12_000;
/// Most memory decoding one upload may allocate.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
const JPEG_QUALITY: u8 = 85;

/// A picture's two renditions, and its id: the SHA-256 of `large`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub image_id: ImageId,
    /// The larger rendition's size, in pixels.
    pub width: u32,
    pub height: u32,
    pub large: Vec<u8>,
    pub small: Vec<u8>,
}

/// What a picture is for, which decides its shape and sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A reader's avatar: cropped square around its centre.
    Avatar,
    /// A book's cover: its proportions kept.
    Cover,
    /// An author's photo: cropped square, as avatars are.
    Photo,
}

impl Purpose {
    /// The boxes (width, height) the large and the small renditions fit in.
    fn boxes(self) -> [(u32, u32); 2] {
        match self {
            Purpose::Avatar | Purpose::Photo => [(400, 400), (96, 96)],
            Purpose::Cover => [(600, 900), (160, 240)],
        }
    }

    fn square(self) -> bool {
        matches!(self, Purpose::Avatar | Purpose::Photo)
    }
}

/// Why an upload is not a picture we keep: each a coded error naming the file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refused {
    #[error("the file is larger than {MAX_UPLOAD_BYTES} bytes")]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("not a PNG or JPEG image")]
    UnsupportedFormat,
    #[error("the picture is {0} × {1} pixels; at most {MAX_SIDE} on a side and {MAX_PIXELS} in all")]
    TooManyPixels(u32, u32),
    #[error("the picture is too large to decode (at most {MAX_SIDE} pixels on a side and {MAX_PIXELS} in all)")]
    TooLargeToDecode,
    #[error("the image could not be decoded: {0}")]
    Undecodable(String),
}

/// Decodes `upload` and renders it for `purpose`.
pub fn render(upload: &[u8], purpose: Purpose) -> Result<Rendered, Refused> {
    if upload.is_empty() {
        return Err(Refused::Empty);
    }
    if upload.len() as u64 > MAX_UPLOAD_BYTES {
        return Err(Refused::TooLarge);
    }
    let reader = ImageReader::new(Cursor::new(upload))
        .with_guessed_format()
        .map_err(|err| Refused::Undecodable(err.to_string()))?;
    if !matches!(reader.format(), Some(ImageFormat::Png | ImageFormat::Jpeg)) {
        return Err(Refused::UnsupportedFormat);
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    let mut reader = reader;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(refusal)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width > MAX_SIDE || height > MAX_SIDE {
        return Err(Refused::TooManyPixels(width, height));
    }
    let orientation = decoder.orientation().map_err(refusal)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(refusal)?;
    picture.apply_orientation(orientation);
    let picture = on_white(picture);
    let picture = if purpose.square() { centre_square(picture) } else { picture };
    let [large_box, small_box] = purpose.boxes();
    let large = fit(&picture, large_box);
    let small = fit(&large, small_box);
    let (large_bytes, small_bytes) = (jpeg(&large)?, jpeg(&small)?);
    Ok(Rendered {
        image_id: ImageId::of(&large_bytes),
        width: large.width(),
        height: large.height(),
        large: large_bytes,
        small: small_bytes,
    })
}

fn refusal(err: image::ImageError) -> Refused {
    match err {
        image::ImageError::Limits(_) => Refused::TooLargeToDecode,
        image::ImageError::Unsupported(_) => Refused::UnsupportedFormat,
        other => Refused::Undecodable(other.to_string()),
    }
}

/// The picture as RGB, what was transparent showing white.
fn on_white(picture: DynamicImage) -> RgbImage {
    if !picture.color().has_alpha() {
        return picture.into_rgb8();
    }
    let rgba = picture.into_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (target, source) in rgb.pixels_mut().zip(rgba.pixels()) {
        let [r, g, b, a] = source.0;
        let blend = |channel: u8| ((u16::from(channel) * u16::from(a) + 255 * (255 - u16::from(a))) / 255) as u8;
        target.0 = [blend(r), blend(g), blend(b)];
    }
    rgb
}

fn centre_square(picture: RgbImage) -> RgbImage {
    let side = picture.width().min(picture.height());
    let (x, y) = ((picture.width() - side) / 2, (picture.height() - side) / 2);
    image::imageops::crop_imm(&picture, x, y, side, side).to_image()
}

/// `picture` scaled down to fit in `(width, height)`, its proportions kept; never scaled up.
fn fit(picture: &RgbImage, (width, height): (u32, u32)) -> RgbImage {
    let scale =
        f64::min(f64::from(width) / f64::from(picture.width()), f64::from(height) / f64::from(picture.height()));
    if scale >= 1.0 {
        return picture.clone();
    }
    let w = ((f64::from(picture.width()) * scale).round() as u32).max(1);
    let h = ((f64::from(picture.height()) * scale).round() as u32).max(1);
    image::imageops::resize(picture, w, h, FilterType::CatmullRom)
}

fn jpeg(picture: &RgbImage) -> Result<Vec<u8>, Refused> {
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode_image(picture)
        .map_err(|err| Refused::Undecodable(err.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder as _, Rgba, RgbaImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let picture = RgbaImage::from_fn(width, height, |x, y| Rgba([(x % 256) as u8, (y % 256) as u8, 90, 200]));
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(picture.as_raw(), width, height, image::ExtendedColorType::Rgba8)
            .unwrap_or_else(|err| panic!("{err}"));
        bytes
    }

    fn decoded(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).unwrap_or_else(|err| panic!("{err}"))
    }

    #[test]
    fn an_avatar_is_a_square_jpeg_in_two_sizes_named_by_its_content() -> Result<(), Refused> {
        let avatar = render(&png(1200, 800), Purpose::Avatar)?;
        assert_eq!((avatar.width, avatar.height), (400, 400));
        assert_eq!(decoded(&avatar.large).dimensions_of(), (400, 400));
        assert_eq!(decoded(&avatar.small).dimensions_of(), (96, 96));
        assert_eq!(avatar.image_id, ImageId::of(&avatar.large));
        assert_eq!(render(&png(1200, 800), Purpose::Avatar)?.image_id, avatar.image_id, "the same upload, the same id");
        Ok(())
    }

    #[test]
    fn a_cover_keeps_its_proportions_and_a_small_picture_is_not_enlarged() -> Result<(), Refused> {
        let cover = render(&png(1000, 1500), Purpose::Cover)?;
        assert_eq!((cover.width, cover.height), (600, 900));
        assert_eq!(decoded(&cover.small).dimensions_of(), (160, 240));
        let tiny = render(&png(40, 60), Purpose::Cover)?;
        assert_eq!((tiny.width, tiny.height), (40, 60));
        Ok(())
    }

    #[test]
    fn what_is_no_png_or_jpeg_is_refused() {
        assert_eq!(render(b"", Purpose::Avatar), Err(Refused::Empty));
        assert_eq!(render(b"GIF89a\x01\x00\x01\x00", Purpose::Avatar), Err(Refused::UnsupportedFormat));
        assert_eq!(
            render(b"<svg xmlns='http://www.w3.org/2000/svg'/>", Purpose::Avatar),
            Err(Refused::UnsupportedFormat)
        );
        let mut cut = png(64, 64);
        cut.truncate(cut.len() / 2);
        assert!(matches!(render(&cut, Purpose::Avatar), Err(Refused::Undecodable(_))));
    }

    /// A PNG that says it is `width` × `height` pixels and holds one row of data: what a
    /// decompression bomb looks like before anything is decoded.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = png(1, 1);
        // The header chunk: length (4), "IHDR" (4), width, height, …; its CRC after 13 bytes.
        bytes[16..20].copy_from_slice(&width.to_be_bytes());
        bytes[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&bytes[12..29]);
        bytes[29..33].copy_from_slice(&crc.to_be_bytes());
        bytes
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn a_picture_of_too_many_pixels_is_refused_before_it_is_decoded() {
        assert_eq!(png_claiming(1, 1).len(), png(1, 1).len());
        assert!(render(&png_claiming(1, 1), Purpose::Avatar).is_ok(), "the forged header is well formed");
        let too_many = |refused| matches!(refused, Err(Refused::TooManyPixels(..) | Refused::TooLargeToDecode));
        assert!(too_many(render(&png_claiming(10_000, 10_000), Purpose::Avatar)));
        assert!(too_many(render(&png_claiming(100_000, 100_000), Purpose::Avatar)));
        assert!(too_many(render(&png_claiming(1, 4_000_000), Purpose::Avatar)));
        assert_eq!(render(&png_claiming(7_100, 7_100), Purpose::Avatar), Err(Refused::TooManyPixels(7_100, 7_100)));
    }

    #[test]
    fn nothing_but_the_pixels_of_an_upload_survives() -> Result<(), Refused> {
        let mut polyglot = png(32, 32);
        polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
        let avatar = render(&polyglot, Purpose::Avatar)?;
        for rendition in [&avatar.large, &avatar.small] {
            assert!(rendition.starts_with(&[0xFF, 0xD8]), "a JPEG");
            assert!(!rendition.windows(7).any(|w| w.eq_ignore_ascii_case(b"<script")));
            assert!(!rendition.windows(4).any(|w| w == b"Exif"), "no metadata");
        }
        Ok(())
    }

    trait Dimensions {
        fn dimensions_of(&self) -> (u32, u32);
    }

    impl Dimensions for DynamicImage {
        fn dimensions_of(&self) -> (u32, u32) {
            (self.width(), self.height())
        }
    }
}
