//! The pages of a reader's own account: `GET /sign-in` and `GET /sign-up` (their forms, which
//! the page's script posts as JSON to the session doors, so the refresh token only ever travels
//! in its HttpOnly cookie), `GET /settings` (profile, privacy, password, exports, deleting the
//! account) and `GET /import` (a library upload with its live progress). What they show is the
//! reader's own, so the HTML is the same for everyone and script fills it in.

use askama::Template;
use axum::response::Response;

use super::{render, Layout};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct AuthPage {
    layout: Layout,
    /// `sign-in` or `sign-up`: the form's session door.
    kind: &'static str,
}

pub(crate) async fn sign_in() -> Response {
    render(&AuthPage { layout: Layout::new("Sign in"), kind: "sign-in" })
}

pub(crate) async fn sign_up() -> Response {
    render(&AuthPage { layout: Layout::new("Sign up"), kind: "sign-up" })
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
}

pub(crate) async fn settings() -> Response {
    render(&SettingsPage { layout: Layout::new("Settings") })
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    layout: Layout,
}

pub(crate) async fn import() -> Response {
    render(&ImportPage { layout: Layout::new("Bring your library") })
}
