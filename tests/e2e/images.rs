//! Pictures: a reader's avatar, a book's cover and an author's photo, uploaded through GraphQL
//! (multipart), served in two sizes for good, shared when two upload the same one, gone once
//! nothing shows them (a deleted account takes its avatar along); hostile files are refused
//! with a code and change nothing.

use std::time::Duration;

use anyhow::Context as _;

use image::{ImageEncoder as _, Rgba, RgbaImage};
use readstream_e2e::{Options, System};
use readstream_testkit::graphql::GraphQl;
use serde_json::{json, Value};

use super::{add_seed_book, sign_up};

const IMAGE: &str = "{ id width height url small: url(size: SMALL) }";

fn set_avatar() -> String {
    format!("mutation($file: Upload!) {{ setAvatar(file: $file) {{ reader {{ avatar {IMAGE} }} }} }}")
}

pub(crate) fn png(width: u32, height: u32, shade: u8) -> Vec<u8> {
    let picture = RgbaImage::from_fn(width, height, |x, y| Rgba([(x % 256) as u8, (y % 256) as u8, shade, 255]));
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(picture.as_raw(), width, height, image::ExtendedColorType::Rgba8)
        .unwrap_or_else(|err| panic!("{err}"));
    bytes
}

/// A PNG whose header claims `width` × `height` pixels over one pixel of data.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(1, 1, 0);
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let mut crc = !0u32;
    for byte in &bytes[12..29] {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
    bytes
}

/// A JPEG carrying `segments` APP1 (EXIF) segments of 64 KiB each before its picture.
fn jpeg_with_exif(segments: usize) -> Vec<u8> {
    let picture = image::RgbImage::from_pixel(64, 48, image::Rgb([200, 40, 40]));
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut plain).encode_image(&picture).unwrap_or_else(|err| panic!("{err}"));
    let mut bytes = plain[..2].to_vec();
    for _ in 0..segments {
        bytes.extend_from_slice(&[0xFF, 0xE1, 0xFF, 0xFF]);
        bytes.extend_from_slice(b"Exif\0\0");
        bytes.extend(std::iter::repeat_n(0x41, 0xFFFF - 2 - 6));
    }
    bytes.extend_from_slice(&plain[2..]);
    bytes
}

/// `GET url`: status, content type, cache control and body.
async fn fetch(url: &str) -> anyhow::Result<(u16, String, String, Vec<u8>)> {
    let response = reqwest::get(url).await?;
    let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (status, kind, cache) = (response.status().as_u16(), header("content-type"), header("cache-control"));
    Ok((status, kind, cache, response.bytes().await?.to_vec()))
}

fn dimensions(jpeg: &[u8]) -> anyhow::Result<(u32, u32)> {
    let picture = image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)?;
    Ok((picture.width(), picture.height()))
}

async fn until_gone(url: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while fetch(url).await?.0 != 404 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "{url} is still served");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

async fn avatar_of(reader: &GraphQl, handle: &str) -> anyhow::Result<Value> {
    let query = format!("query($h: String!) {{ reader(handle: $h) {{ avatar {IMAGE} }} }}");
    Ok(reader.request(&query, json!({ "h": handle })).await?.data()?["reader"]["avatar"].clone())
}

#[tokio::test]
async fn an_avatar_is_served_in_two_sizes_shared_replaced_removed_and_gone_with_its_account() -> anyhow::Result<()> {
    let options = Options {
        image_sweep: readstream_worker::images::ImageSweepConfig { sweep_seconds: 1, grace_seconds: 2 },
        ..Options::default()
    };
    let system = System::start_with(options).await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let (ben, _) = sign_up(&system, "ben").await?;

    let set = ana.upload(&set_avatar(), json!({}), png(800, 600, 10), "me.png").await?;
    let avatar = set.data()?["setAvatar"]["reader"]["avatar"].clone();
    assert_eq!((avatar["width"].as_i64(), avatar["height"].as_i64()), (Some(400), Some(400)), "cropped square");
    let (large, small) = (avatar["url"].as_str().unwrap_or_default(), avatar["small"].as_str().unwrap_or_default());
    assert!(large.ends_with("/large") && small.ends_with("/small"), "{avatar}");
    let (status, kind, cache, bytes) = fetch(large).await?;
    assert_eq!((status, kind.as_str()), (200, "image/jpeg"));
    assert!(cache.contains("immutable"), "{cache}");
    assert_eq!(dimensions(&bytes)?, (400, 400));
    assert_eq!(dimensions(&fetch(small).await?.3)?, (96, 96));
    let etag = reqwest::get(large).await?.headers().get("etag").cloned().context("no ETag")?;
    let again = reqwest::Client::new().get(large).header("if-none-match", etag).send().await?;
    assert_eq!(again.status().as_u16(), 304, "a cached copy is good for ever");
    assert_eq!(avatar_of(&ben, "ana").await?, avatar, "anyone sees it");

    // The same picture uploaded by another reader is the same image.
    let bens = ben.upload(&set_avatar(), json!({}), png(800, 600, 10), "mine.png").await?;
    assert_eq!(bens.data()?["setAvatar"]["reader"]["avatar"]["id"], avatar["id"]);

    // Replaced, then removed: ben still shows the first, so it stays.
    let second = ana.upload(&set_avatar(), json!({}), png(300, 500, 99), "new.png").await?;
    let second = second.data()?["setAvatar"]["reader"]["avatar"].clone();
    assert_ne!(second["id"], avatar["id"]);
    assert_eq!((second["width"].as_i64(), second["height"].as_i64()), (Some(300), Some(300)), "never enlarged");
    let removed = ana.request("mutation { removeAvatar { reader { avatar { id } } } }", json!({})).await?;
    assert_eq!(removed.data()?["removeAvatar"]["reader"]["avatar"], Value::Null);
    let second_url = second["url"].as_str().unwrap_or_default().to_owned();
    until_gone(&second_url).await?;
    assert_eq!(fetch(large).await?.0, 200, "ben's avatar is the same picture and stays");

    // A deleted account takes its avatar along; the shared one stays while ben shows it.
    let third = ana.upload(&set_avatar(), json!({}), png(120, 120, 200), "third.png").await?;
    let third_url = third.data()?["setAvatar"]["reader"]["avatar"]["url"].as_str().unwrap_or_default().to_owned();
    assert_eq!(fetch(&third_url).await?.0, 200);
    ana.request("mutation { deleteAccount(password: \"correct horse battery\") { readerId } }", json!({}))
        .await?
        .data()?;
    until_gone(&third_url).await?;
    assert_eq!(fetch(large).await?.0, 200);
    ben.request("mutation { removeAvatar { position } }", json!({})).await?.data()?;
    until_gone(large).await?;
    system.stop().await
}

#[tokio::test]
async fn librarians_set_covers_and_author_photos_and_readers_cannot() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (book_id, _) = add_seed_book(&system).await?;
    let librarian = system.librarian().await?;
    let (ben, _) = sign_up(&system, "ben").await?;
    let set_cover = format!(
        "mutation($b: ID!, $file: Upload!) {{ setBookCover(bookId: $b, file: $file) {{ book {{ cover {IMAGE} authors {{ id }} }} }} }}"
    );
    let refused = ben.upload(&set_cover, json!({ "b": book_id }), png(1000, 1500, 5), "cover.png").await?;
    assert_eq!(refused.error_code(), Some("PERMISSION_DENIED"));

    let set = librarian.upload(&set_cover, json!({ "b": book_id }), png(1000, 1500, 5), "cover.png").await?;
    let book = set.data()?["setBookCover"]["book"].clone();
    assert_eq!((book["cover"]["width"].as_i64(), book["cover"]["height"].as_i64()), (Some(600), Some(900)));
    assert_eq!(dimensions(&fetch(book["cover"]["small"].as_str().unwrap_or_default()).await?.3)?, (160, 240));
    let read =
        ben.request(&format!("query($b: ID!) {{ book(id: $b) {{ cover {IMAGE} }} }}"), json!({ "b": book_id })).await?;
    assert_eq!(read.data()?["book"]["cover"], book["cover"]);

    let author_id = book["authors"][0]["id"].clone();
    let set_photo = format!(
        "mutation($a: ID!, $file: Upload!) {{ setAuthorPhoto(authorId: $a, file: $file) {{ author {{ photo {IMAGE} }} }} }}"
    );
    let refused = ben.upload(&set_photo, json!({ "a": author_id }), png(500, 700, 1), "smith.png").await?;
    assert_eq!(refused.error_code(), Some("PERMISSION_DENIED"));
    let photo = librarian.upload(&set_photo, json!({ "a": author_id }), png(500, 700, 1), "smith.png").await?;
    let photo = photo.data()?["setAuthorPhoto"]["author"]["photo"].clone();
    assert_eq!((photo["width"].as_i64(), photo["height"].as_i64()), (Some(400), Some(400)));

    let removed = librarian
        .request("mutation($b: ID!) { removeBookCover(bookId: $b) { book { cover { id } } } }", json!({ "b": book_id }))
        .await?;
    assert_eq!(removed.data()?["removeBookCover"]["book"]["cover"], Value::Null);
    let removed = librarian
        .request(
            "mutation($a: ID!) { removeAuthorPhoto(authorId: $a) { author { photo { id } } } }",
            json!({ "a": author_id }),
        )
        .await?;
    assert_eq!(removed.data()?["removeAuthorPhoto"]["author"]["photo"], Value::Null);
    system.stop().await
}

#[tokio::test]
async fn hostile_pictures_are_refused_with_a_code_and_change_nothing() -> anyhow::Result<()> {
    let system = System::start().await?;
    let (ana, _) = sign_up(&system, "ana").await?;
    let mut too_big = png(16, 16, 0);
    too_big.resize(11 << 20, 0);
    let refusals: [(&str, Vec<u8>, &str); 8] = [
        ("a decompression bomb", png_claiming(100_000, 100_000), "LIMIT_EXCEEDED"),
        ("50 megapixels and more", png_claiming(8_000, 7_000), "LIMIT_EXCEEDED"),
        ("a file over 10 MiB", too_big, "LIMIT_EXCEEDED"),
        ("a GIF", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(), "INVALID_ARGUMENT"),
        (
            "an SVG with a script",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
            "INVALID_ARGUMENT",
        ),
        ("HTML", b"<!doctype html><script>alert(1)</script>".to_vec(), "INVALID_ARGUMENT"),
        (
            "a PNG cut short",
            {
                let whole = png(64, 64, 3);
                whole[..whole.len() / 2].to_vec()
            },
            "INVALID_ARGUMENT",
        ),
        ("nothing", Vec::new(), "INVALID_ARGUMENT"),
    ];
    for (what, bytes, code) in refusals {
        let refused = ana.upload(&set_avatar(), json!({}), bytes, "avatar.png").await?;
        assert_eq!(refused.error_code(), Some(code), "{what}: {:?}", refused.0);
        assert_eq!(refused.0["errors"][0]["extensions"]["field"], "file", "{what}");
    }
    assert_eq!(avatar_of(&ana, "ana").await?, Value::Null, "nothing changed");

    // What is served is only ever a re-encoded picture: no trailing page, no metadata.
    let mut polyglot = png(64, 64, 7);
    polyglot.extend_from_slice(b"<html><script>alert(document.cookie)</script></html>");
    for (what, upload) in [("a PNG that is also a page", polyglot), ("a JPEG with 4 MiB of EXIF", jpeg_with_exif(64))] {
        let set = ana.upload(&set_avatar(), json!({}), upload, "avatar.jpg").await?;
        let avatar =
            set.data().map_err(|err| anyhow::anyhow!("{what}: {err}"))?["setAvatar"]["reader"]["avatar"].clone();
        for url in [&avatar["url"], &avatar["small"]] {
            let (status, kind, _, bytes) = fetch(url.as_str().unwrap_or_default()).await?;
            assert_eq!((status, kind.as_str()), (200, "image/jpeg"), "{what}");
            assert!(bytes.starts_with(&[0xFF, 0xD8]), "{what}");
            assert!(!bytes.windows(7).any(|w| w.eq_ignore_ascii_case(b"<script")), "{what}");
            assert!(!bytes.windows(4).any(|w| w == b"Exif"), "{what}: metadata left");
        }
    }

    // No token, no upload; an address that is no image is 404.
    let anonymous = system.client().upload(&set_avatar(), json!({}), png(8, 8, 0), "a.png").await?;
    assert_eq!(anonymous.error_code(), Some("UNAUTHENTICATED"));
    for path in ["/images/../../etc/passwd/large", "/images/ABC/large", &format!("/images/{}/huge", "a".repeat(64))] {
        assert_eq!(fetch(&format!("{}{path}", system.base_url)).await?.0, 404, "{path}");
    }
    system.stop().await
}
