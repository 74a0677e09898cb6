//! `GET /sign-in` and `GET /sign-up`: their forms. The page's script posts them as JSON to the
//! session doors (`session`), so the refresh token only ever travels in its HttpOnly cookie.

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
