//! A picture a reader, a book or an author shows, and uploading one.

use std::io::Read as _;

use async_graphql::{Context, Enum, Object, Upload, ID};
use readstream_contracts::ImageId;
use readstream_readmodel::images::{self, Size};

use super::app;
use readstream_pictures::{Purpose, Refused, MAX_UPLOAD_BYTES};

use crate::error::ApiError;

/// An uploaded picture, re-encoded as JPEG in two sizes.
pub struct Image(pub images::Image);

/// Which rendition of a picture.
#[derive(Debug, Enum, Copy, Clone, Eq, PartialEq, Default)]
pub enum ImageSize {
    /// At most 96 × 96 pixels for an avatar or a photo, 160 × 240 for a cover.
    Small,
    /// At most 400 × 400 pixels for an avatar or a photo, 600 × 900 for a cover.
    #[default]
    Large,
}

#[Object]
impl Image {
    /// The SHA-256 of the larger rendition: the same picture uploaded twice is one image.
    async fn id(&self) -> ID {
        ID(self.0.image_id.clone())
    }

    /// Of the larger rendition, in pixels.
    async fn width(&self) -> i32 {
        self.0.width
    }

    async fn height(&self) -> i32 {
        self.0.height
    }

    /// Where the rendition is served: an image/jpeg that never changes (cached for a year).
    async fn url(&self, ctx: &Context<'_>, #[graphql(default)] size: ImageSize) -> String {
        let size = match size {
            ImageSize::Small => Size::Small,
            ImageSize::Large => Size::Large,
        };
        crate::images::url(&app(ctx).public_url, &self.0.image_id, size)
    }
}

/// Decodes, re-encodes and stores an uploaded picture: its id, for the command that uses it.
pub async fn store_upload(ctx: &Context<'_>, file: Upload, purpose: Purpose) -> Result<ImageId, ApiError> {
    let upload = file.value(ctx).map_err(|err| ApiError::invalid("file", format!("no file: {err}")))?;
    let size = upload.size().map_err(ApiError::internal)?;
    if size > MAX_UPLOAD_BYTES {
        return Err(Refused::TooLarge.into());
    }
    let mut bytes = Vec::with_capacity(size as usize);
    upload.into_read().read_to_end(&mut bytes).map_err(ApiError::internal)?;
    let app = app(ctx);
    app.decoders.process(&app.pool, bytes, purpose).await
}
