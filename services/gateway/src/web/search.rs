//! `GET /search?q=`: books, authors and readers matching `q`, best first, as `search` finds them
//! (typos and accents forgiven, ISBNs exact). The page works without script; `search.js` asks
//! again as the reader types and replaces the results in place.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    extract::{ConnectInfo, Query, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;
use serde_json::json;

use super::{admit, query, respond, Count, Layout};
use crate::Shared;

const SEARCH: &str = "query SearchPage($q: String!) {
  search(query: $q, first: 20) { nodes {
    __typename
    ... on Book { url title subtitle authors { name } }
    ... on Author { url name booksCount }
    ... on Reader { url handle displayName }
  } }
}";

/// The longest query the page sends on (the API's own bounds refuse with a code past them).
const MAX_QUERY_CHARS: usize = 200;

#[derive(Deserialize)]
pub(crate) struct Asked {
    q: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    search: Hits,
}

#[derive(Deserialize)]
struct Hits {
    nodes: Vec<Hit>,
}

#[derive(Deserialize)]
#[serde(tag = "__typename")]
enum Hit {
    Book {
        url: String,
        title: String,
        subtitle: String,
        authors: Vec<Name>,
    },
    Author {
        url: String,
        name: String,
        #[serde(rename = "booksCount")]
        books_count: Count,
    },
    Reader {
        url: String,
        handle: String,
        #[serde(rename = "displayName")]
        display_name: String,
    },
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

/// A hit as the page lists it: its link, its text, and what it is.
struct Shown {
    url: String,
    text: String,
    detail: String,
    kind: &'static str,
}

impl From<Hit> for Shown {
    fn from(hit: Hit) -> Self {
        match hit {
            Hit::Book { url, title, subtitle, authors } => {
                let names = authors.into_iter().map(|author| author.name).collect::<Vec<_>>().join(", ");
                let text = if subtitle.is_empty() { title } else { format!("{title}: {subtitle}") };
                Shown { url, text, detail: format!("by {names}"), kind: "Book" }
            }
            Hit::Author { url, name, books_count } => {
                let books = if books_count.plural() { "books" } else { "book" };
                Shown { url, text: name, detail: format!("{books_count} {books}"), kind: "Author" }
            }
            Hit::Reader { url, handle, display_name } => {
                Shown { url, text: display_name, detail: format!("@{handle}"), kind: "Reader" }
            }
        }
    }
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    asked: String,
    hits: Vec<Shown>,
    /// Why nothing was searched for, when the query was refused.
    problem: Option<String>,
}

pub(crate) async fn page(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(asked): Query<Asked>,
) -> Response {
    let search = async {
        let client = admit(&app, peer, &headers)?;
        let asked: String = asked.q.unwrap_or_default().trim().chars().take(MAX_QUERY_CHARS).collect();
        let (hits, problem) = if asked.is_empty() {
            (Vec::new(), None)
        } else {
            match query::<Data>(&schemas, client, SEARCH, json!({ "q": asked })).await {
                Ok(data) => (data.search.nodes.into_iter().map(Shown::from).collect(), None),
                // A query the API refuses is said on the page, which still serves.
                Err(err) if err.status.is_client_error() => {
                    (Vec::new(), Some(format!("{} ({})", err.message, err.code.as_str())))
                }
                Err(err) => return Err(err),
            }
        };
        let title = if asked.is_empty() { "Search".to_owned() } else { format!("Search: {asked}") };
        Ok(SearchPage { layout: Layout::new(title), asked, hits, problem })
    };
    respond(search.await)
}
