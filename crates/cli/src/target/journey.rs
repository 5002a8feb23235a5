//! `flak target`'s routes for journey tests: `POST /login` issues a random bearer token per call,
//! `GET /me` names its user, `GET`/`PUT /users/<id>` answer only the token issued to `<id>`
//! (401 without a known token, 403 with another user's), `GET /items/<n>` needs no token. The
//! tokens issued, the distinct users served and the counts per endpoint live here; `/stats`
//! shows them as `journey`, and `/stats/reset` forgets them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{HeaderMap, Method, StatusCode};
use serde::Serialize;
use serde_json::json;

use super::routes::{Reply, reply, text};

/// Tokens remembered at most (about 60 bytes each with a short user id). Past this, all are
/// forgotten at once and issuing starts over: old tokens then get 401, which a test that issues
/// a million tokens would see, but a 10,000-user test never comes near it.
const MAX_TOKENS: usize = 1_000_000;

/// Distinct users remembered at most for `distinct_users`; past this, new ids are not counted
/// (and `distinct_users_full` says so) rather than letting the set grow without bound.
const MAX_USERS: usize = 1_000_000;

#[derive(Default)]
struct Remembered {
    /// Token (32 hex digits, as a number) → the user it was issued to.
    tokens: HashMap<u128, Box<str>>,
    /// Ids that got a 200 from `GET /users/<id>`.
    users: HashSet<Box<str>>,
}

#[derive(Default)]
pub(super) struct Journey {
    login: AtomicU64,
    me: AtomicU64,
    users_get: AtomicU64,
    users_put: AtomicU64,
    items: AtomicU64,
    unauthorized: AtomicU64,
    forbidden: AtomicU64,
    remembered: Mutex<Remembered>,
}

/// `/stats`' `journey` object. The endpoint counts are requests that reached each route,
/// whatever they were answered; `unauthorized` and `forbidden` count the 401 and 403 answers
/// among them.
#[derive(Serialize)]
pub(super) struct JourneyStats {
    login: u64,
    me: u64,
    users_get: u64,
    users_put: u64,
    items: u64,
    unauthorized: u64,
    forbidden: u64,
    distinct_users: usize,
    /// True once `distinct_users` reached its bound and stopped counting new ids.
    distinct_users_full: bool,
}

fn json_reply(status: StatusCode, value: &serde_json::Value) -> Reply {
    reply(status, format!("{value}\n"), "application/json")
}

/// Who a request's `Authorization: Bearer <token>` header names, if it is a token we issued.
fn bearer(headers: &HeaderMap) -> Option<u128> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.len() != 32 {
        return None;
    }
    u128::from_str_radix(token, 16).ok()
}

/// A stable number per user id (FNV-1a), so a user's order is the same on every call.
fn order_of(id: &str) -> u64 {
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash % 1_000_000
}

impl Journey {
    fn remembered(&self) -> MutexGuard<'_, Remembered> {
        self.remembered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn snapshot(&self) -> JourneyStats {
        let users = self.remembered().users.len();
        JourneyStats {
            login: self.login.load(Ordering::SeqCst),
            me: self.me.load(Ordering::SeqCst),
            users_get: self.users_get.load(Ordering::SeqCst),
            users_put: self.users_put.load(Ordering::SeqCst),
            items: self.items.load(Ordering::SeqCst),
            unauthorized: self.unauthorized.load(Ordering::SeqCst),
            forbidden: self.forbidden.load(Ordering::SeqCst),
            distinct_users: users,
            distinct_users_full: users >= MAX_USERS,
        }
    }

    pub(super) fn reset(&self) {
        for n in [
            &self.login,
            &self.me,
            &self.users_get,
            &self.users_put,
            &self.items,
            &self.unauthorized,
            &self.forbidden,
        ] {
            n.store(0, Ordering::SeqCst);
        }
        *self.remembered() = Remembered::default();
    }

    fn unauthorized(&self, why: &str) -> Reply {
        self.unauthorized.fetch_add(1, Ordering::SeqCst);
        let mut r = text(StatusCode::UNAUTHORIZED, format!("{why}\n"));
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        r
    }

    /// `POST /login` with `{"user": "<id>"}`. `body` is `None` when it was over the limit.
    pub(super) fn login(&self, method: &Method, body: Option<&Bytes>) -> Reply {
        self.login.fetch_add(1, Ordering::SeqCst);
        if method != Method::POST {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use POST /login\n");
        }
        let Some(body) = body else {
            return text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("login body over {} KiB\n", super::routes::MAX_BODY / 1024),
            );
        };
        let user = match serde_json::from_slice::<serde_json::Value>(body) {
            Err(e) => {
                return text(
                    StatusCode::BAD_REQUEST,
                    format!("login body is not JSON: {e}\n"),
                );
            }
            Ok(v) => match v.get("user").and_then(serde_json::Value::as_str) {
                Some(user) if !user.is_empty() => user.to_string(),
                _ => {
                    return text(
                        StatusCode::BAD_REQUEST,
                        "login body needs {\"user\": \"<id>\"} with a non-empty string\n",
                    );
                }
            },
        };
        let token = fastrand::u128(..);
        {
            let mut remembered = self.remembered();
            if remembered.tokens.len() >= MAX_TOKENS {
                // Bounded memory: forget every token at once (see MAX_TOKENS).
                remembered.tokens.clear();
            }
            remembered
                .tokens
                .insert(token, user.clone().into_boxed_str());
        }
        let mut r = json_reply(
            StatusCode::OK,
            &json!({ "token": format!("{token:032x}"), "user": user }),
        );
        let session = format!("{:016x}", fastrand::u64(..));
        if let Ok(v) = HeaderValue::from_str(&session) {
            r.headers_mut().insert("x-session", v);
        }
        r
    }

    /// `GET /me`: the user the bearer token was issued to.
    pub(super) fn me(&self, method: &Method, headers: &HeaderMap) -> Reply {
        self.me.fetch_add(1, Ordering::SeqCst);
        if method != Method::GET {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use GET /me\n");
        }
        let user = bearer(headers).and_then(|t| self.remembered().tokens.get(&t).cloned());
        match user {
            Some(user) => json_reply(StatusCode::OK, &json!({ "user": &*user })),
            None => self.unauthorized("no known bearer token: POST /login first"),
        }
    }

    /// `GET` or `PUT /users/<id>`, for the holder of a token issued to `<id>` only.
    pub(super) fn user(&self, method: &Method, headers: &HeaderMap, id: &str) -> Reply {
        let get = match *method {
            Method::GET => true,
            Method::PUT => false,
            _ => {
                return text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "use GET or PUT /users/<id>\n",
                );
            }
        };
        if get {
            self.users_get.fetch_add(1, Ordering::SeqCst);
        } else {
            self.users_put.fetch_add(1, Ordering::SeqCst);
        }
        if id.is_empty() || id.contains('/') {
            return text(StatusCode::BAD_REQUEST, "use /users/<id>\n");
        }
        let mut remembered = self.remembered();
        let Some(owner) = bearer(headers).and_then(|t| remembered.tokens.get(&t)) else {
            drop(remembered);
            return self.unauthorized("no known bearer token: POST /login first");
        };
        if **owner != *id {
            drop(remembered);
            self.forbidden.fetch_add(1, Ordering::SeqCst);
            return text(
                StatusCode::FORBIDDEN,
                "this token was issued to another user\n",
            );
        }
        if !get {
            return json_reply(StatusCode::OK, &json!({ "updated": id }));
        }
        if remembered.users.len() < MAX_USERS && !remembered.users.contains(id) {
            remembered.users.insert(id.into());
        }
        drop(remembered);
        json_reply(
            StatusCode::OK,
            &json!({ "id": id, "order": format!("order-{}", order_of(id)) }),
        )
    }

    /// `GET /items/<n>`, no token needed.
    pub(super) fn item(&self, method: &Method, n: &str) -> Reply {
        self.items.fetch_add(1, Ordering::SeqCst);
        if method != Method::GET {
            return text(StatusCode::METHOD_NOT_ALLOWED, "use GET /items/<n>\n");
        }
        if n.is_empty() || n.contains('/') {
            return text(StatusCode::BAD_REQUEST, "use /items/<n>\n");
        }
        json_reply(StatusCode::OK, &json!({ "item": n }))
    }
}
