//! The portal survives anything a handler sends (issue 11, item 7): sessions of requests with
//! arbitrary HTTP methods, paths under `/rest/`, `/oauth/token/` and elsewhere, query strings,
//! odd and nested PHP form keys, urlencoded, multipart (odd boundaries, cut parts), JSON (deep,
//! wrong types, invalid) and raw bodies, batches with `$result[…]` references, and tokens both
//! issued and garbage, handed to [`Offline`] (the portal's routes and state without a socket).
//!
//! What every answer is asserted to be, after every request of a session:
//! - no panic (a panic anywhere in the portal fails the case; a stack overflow aborts the test);
//! - the body is a JSON object and one of Bitrix24's envelopes:
//!   an error: `error` a non-empty string, `error_description` a string, no `result`, status
//!   200–599 (placement.bind's argument errors are documented with 200); or
//!   a REST success: status 200, `result` present, `time` an object with numeric `start`,
//!   `finish` and `duration`; or
//!   an OAuth grant, only at a token path: status 200, non-empty `access_token` and
//!   `refresh_token`, numeric `expires_in`;
//! - the portal recorded the request as a call with the answer's status and error code.
//!
//! A session is one to four requests to a fresh portal, so that what one request leaves in the
//! portal's state meets the next. 100 000 sessions when `CI` is set, 2 000 otherwise, unless
//! PROPTEST_CASES says how many, split between two tests; the seeds are fixed, so a run draws
//! the same sessions every time. A failure is shrunk and printed as the session's requests.

use std::net::SocketAddr;
use std::time::Instant;

use b24_conform::portal::{Host, Offline, PortalConfig, Served};
use b24_conform::record::{PortalCall, Role};
use b24_conform::suite::TokenState;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::string::string_regex;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestRunner};
use serde_json::Value;
use url::form_urlencoded::byte_serialize;
use wiremock::Request;
use wiremock::http::{HeaderMap, HeaderName, HeaderValue, Method, Url};

const SEED: u64 = 0x0b24_f022;

/// Where the portal believes it listens; nothing is bound.
const ADDR: &str = "127.0.0.1:47100";

/// The token states a session's portal issues pairs for: `auth-N`/`refresh-N` is state N's.
const STATES: [TokenState; 7] = [
    TokenState::Valid,
    TokenState::Expired,
    TokenState::Expiring,
    TokenState::Invalid,
    TokenState::Revoked,
    TokenState::InsufficientScope,
    TokenState::RateLimited,
];

/// How many sessions: PROPTEST_CASES, else 100 000 in CI, else 2 000.
fn cases() -> u32 {
    if let Some(cases) = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()) {
        return cases;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"));
    if ci { 100_000 } else { 2_000 }
}

/// One request a handler might send.
#[derive(Clone)]
struct Call {
    host: Host,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// The body as text, so that a shrunk failure reads as the request it is.
impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("host", &self.host)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("headers", &self.headers)
            .field("body", &String::from_utf8_lossy(&self.body))
            .finish()
    }
}

#[derive(Clone, Debug)]
struct Session {
    role: Role,
    calls: Vec<Call>,
}

const METHODS: &[&str] = &[
    "app.info",
    "app.option.get",
    "app.option.set",
    "user.option.get",
    "user.option.set",
    "event.bind",
    "event.get",
    "event.unbind",
    "placement.list",
    "placement.get",
    "placement.bind",
    "placement.unbind",
    "profile",
    "user.admin",
    "user.current",
    "user.get",
    "scope",
    "methods",
    "server.time",
    "landing.site.getList",
    "landing.landing.getList",
    "landing.site.getAdditionalFields",
    "landing.landing.getAdditionalFields",
    "landing.site.update",
    "landing.landing.update",
    "landing.site.getPublicUrl",
    "landing.landing.getPublicUrl",
    "landing.repo.bind",
    "landing.repo.unbind",
    "batch",
    "BATCH",
    "crm.deal.list",
    "api/user.get",
    "x/rest/user.current",
    "",
    "é",
    "%2e%2e/oauth/token",
];

const KEYS: &[&str] = &[
    "auth",
    "access_token",
    "cmd",
    "halt",
    "fields",
    "options",
    "option",
    "id",
    "lid",
    "params",
    "scope",
    "full",
    "start",
    "event",
    "handler",
    "auth_type",
    "event_type",
    "PLACEMENT",
    "HANDLER",
    "TITLE",
    "SCOPE",
    "code",
    "grant_type",
    "client_id",
    "client_secret",
    "refresh_token",
    "a",
    "",
    "é",
    "[",
    "]",
    "$result",
];

const SEGMENTS: &[&str] = &[
    "[]",
    "[]]",
    "[x]",
    "[0]",
    "[1]",
    "[",
    "]",
    "[ID]",
    "[=ID]",
    "[SITE_ID]",
    "[filter]",
    "[order]",
    "[select]",
    "[limit]",
    "[offset]",
    "[PLACEMENT]",
    "[PLACEMENT_HANDLER]",
    "[TITLE]",
    "[c0]",
    "[c1]",
    "[c2]",
    "[a",
    "é]",
    "[é]ü",
    "[]tail",
    "[[x]]",
];

const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "Y",
    "N",
    "desc",
    "ASC",
    "*",
    "ID",
    "18446744073709551615",
    "18446744073709551616",
    "1e400",
    "NaN",
    "LANDING_SETTINGS",
    "landing_settings ",
    "REST_APP_URI",
    "ONAPPINSTALL",
    "https://handler.example/settings",
    "http://",
    "refresh_token",
    "KNOWLEDGE",
    "basic",
    "offline",
    "$result[c0]",
    "$result[c0][0][ID]",
    "$result[c1][ID]",
    "$result_total[c0]",
    "$result_next[c0]",
    "$result_error[c0][error]",
    "$result_time[c0][start]",
    "x $result[c0][0][ID] $result[c1]",
    "$result[",
    "$result[]]",
    "$result[c0][][]",
];

/// Commands a batch's `cmd[…]` names, with queries that reach methods and references.
const COMMANDS: &[&str] = &[
    "user.current",
    "user.get?start=50",
    "user.get?start=18446744073709551615",
    "app.option.get",
    "app.option.set?options[a]=$result[c0]&options[b]=$result[c0]",
    "app.option.set?options[deep][1][2][3][4][5][6][7][8][9]=$result[c1]",
    "landing.site.getList?params[order][ID]=desc&params[select][]=ID&params[limit]=3",
    "landing.site.getList?params[filter][ID]=$result[c0][0][ID]",
    "landing.repo.bind?fields[PLACEMENT]=LANDING_SETTINGS&fields[PLACEMENT_HANDLER]=https://h.example/&fields[TITLE]=x",
    "landing.site.getPublicUrl?id[]=$result[c0][0][ID]&id[]=2",
    "event.bind?event=ONAPPUNINSTALL&handler=$result[c0][ID]",
    "event.get",
    "batch?cmd[x]=user.current",
    "/batch.json?cmd[x]=user.current",
    "server.time",
    "methods?full=1",
    "unknown.method?x[]]=1",
    "?",
    "",
];

/// Text matching `pattern`, the regex parsed once (a bare `&str` strategy parses it per value).
fn text(pattern: &str) -> impl Strategy<Value = String> + use<> {
    string_regex(pattern).expect("a valid pattern")
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0..STATES.len()).prop_map(|i| format!("auth-{i}")),
        1 => (0..STATES.len()).prop_map(|i| format!("refresh-{i}")),
        1 => select(&["", " ", "garbage", "auth-0 ", "AUTH-0", "auth-0\u{0}"][..]).prop_map(str::to_owned),
        1 => text(".{0,8}"),
    ]
}

/// A PHP form key: a name and bracket segments, sometimes nested past PHP's limit.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        16 => (select(KEYS), prop::collection::vec(select(SEGMENTS), 0..4)).prop_map(|(k, s)| format!("{k}{}", s.concat())),
        1 => (select(KEYS), 60usize..70).prop_map(|(k, n)| format!("{k}{}", "[k]".repeat(n))),
        1 => (1usize..200).prop_map(|n| format!("a{}{}", "[".repeat(n), "]".repeat(n / 2))),
        2 => text("[a-z\\[\\]é$]{0,10}"),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(VALUES).prop_map(str::to_owned),
        2 => token(),
        2 => select(COMMANDS).prop_map(str::to_owned),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => text(".{0,12}"),
    ]
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((key(), value()), 0..8)
}

fn encode(text: &str) -> String {
    byte_serialize(text.as_bytes()).collect()
}

/// A query string or urlencoded body: encoded, written raw, or with broken escapes.
fn form(params: &[(String, String)], raw: bool) -> String {
    let pair =
        |(k, v): &(String, String)| if raw { format!("{k}={v}") } else { format!("{}={}", encode(k), encode(v)) };
    params.iter().map(pair).collect::<Vec<_>>().join("&")
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (params(), any::<bool>()).prop_map(|(p, raw)| form(&p, raw)),
        1 => select(&["", "%", "%zz", "a=b=c", "&&", "=x", "auth", "auth=auth-0&auth[]=x", "cmd[c0]=user.current"][..])
            .prop_map(str::to_owned),
    ]
}

/// A multipart body: well-formed, or with a boundary, a part or the end gone wrong.
fn multipart() -> impl Strategy<Value = (String, Vec<u8>)> {
    let boundary = prop_oneof![
        4 => select(&["XyZ", "----b24", "a b", "--", "é"][..]).prop_map(str::to_owned),
        1 => (71usize..200).prop_map(|n| "b".repeat(n)),
        1 => text("[a-z\\-\"; ]{0,8}"),
    ];
    (boundary, params(), 0u8..6, any::<bool>()).prop_map(|(boundary, params, flaw, quoted)| {
        let mut body = String::new();
        for (i, (name, value)) in params.iter().enumerate() {
            body.push_str(&format!("--{boundary}\r\n"));
            match flaw {
                1 if i == 0 => body.push_str(&format!("Content-Disposition: form-data; name=\"{name}\"\r\n")),
                2 => body.push_str(&format!("Content-Disposition: form-data; name={name}; filename=\"f\"\r\n\r\n")),
                3 => body.push_str("Content-Type: text/plain\r\n\r\n"),
                _ => body.push_str(&format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")),
            }
            body.push_str(value);
            body.push_str("\r\n");
        }
        if flaw != 4 {
            body.push_str(&format!("--{boundary}--\r\n"));
        }
        let content_type = match (flaw, quoted) {
            (5, _) => "multipart/form-data".to_owned(),
            (_, true) => format!("multipart/form-data; boundary=\"{boundary}\""),
            (_, false) => format!("Multipart/Form-Data; charset=utf-8; BOUNDARY={boundary}"),
        };
        (content_type, body.into_bytes())
    })
}

/// JSON: objects of the parameters, wrong types, deep nesting, or not JSON at all.
fn json() -> impl Strategy<Value = Vec<u8>> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        value().prop_map(Value::String),
    ];
    let tree = leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((select(KEYS), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    });
    prop_oneof![
        4 => prop::collection::vec((select(KEYS), tree), 0..6)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).to_string().into_bytes()),
        1 => (1usize..300, select(&["options", "cmd", "fields", "params"][..]))
            .prop_map(|(n, k)| format!("{{\"auth\":\"auth-0\",\"{k}\":{}1{}}}", "{\"a\":".repeat(n), "}".repeat(n)).into_bytes()),
        1 => (1usize..300).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        1 => select(&["", "{", "null", "[]", "\"auth-0\"", "{\"auth\":[\"auth-0\"],\"cmd\":5}", "{\"auth\":1e999}"][..])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

/// A body and the Content-Type sent with it, if any.
fn body() -> impl Strategy<Value = (Option<String>, Vec<u8>)> {
    prop_oneof![
        2 => Just((None, Vec::new())),
        3 => (params(), any::<bool>(), any::<bool>()).prop_map(|(p, raw, typed)| {
            (typed.then(|| "application/x-www-form-urlencoded".to_owned()), form(&p, raw).into_bytes())
        }),
        2 => multipart().prop_map(|(t, b)| (Some(t), b)),
        2 => (json(), select(&["application/json", "APPLICATION/JSON; charset=utf-8", "text/json"][..]))
            .prop_map(|(b, t)| (Some(t.to_owned()), b)),
        1 => (prop::collection::vec(any::<u8>(), 0..64), text(".{0,16}")).prop_map(|(b, t)| (Some(t), b)),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let prefix = select(&["/rest/", "//rest//", "/rest/api/", "/rest", "/", "/pub/", "/oauth/"][..]);
    let suffix = select(&["", "", ".json", ".xml", "/", "/extra", ".json/"][..]);
    prop_oneof![
        8 => (prefix, select(METHODS), suffix).prop_map(|(p, m, s)| format!("{p}{m}{s}")),
        2 => select(&["/oauth/token/", "//oauth/token", "/oauth//token//", "/oauth/token/x", "/OAUTH/TOKEN/"][..])
            .prop_map(str::to_owned),
        1 => text(".{0,16}"),
    ]
}

fn http_method() -> impl Strategy<Value = String> {
    select(&["GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "FOO", "M-SEARCH"][..])
        .prop_map(str::to_owned)
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![3 => Just(Host::Portal), 1 => Just(Host::Oauth)]
}

/// Any request: every part drawn on its own.
fn any_call() -> impl Strategy<Value = Call> {
    let authorization = prop_oneof![
        3 => Just(None),
        2 => token().prop_map(|t| Some(format!("Bearer {t}"))),
        1 => text(".{0,12}").prop_map(Some),
    ];
    (host(), http_method(), path(), query(), body(), authorization).prop_map(
        |(host, method, path, query, (content_type, body), authorization)| {
            let headers = content_type
                .map(|t| ("content-type".to_owned(), t))
                .into_iter()
                .chain(authorization.map(|a| ("authorization".to_owned(), a)))
                .collect();
            Call { host, method, path, query, headers, body }
        },
    )
}

/// A REST call or batch with an issued token, so that the methods themselves are reached.
fn rest_call() -> impl Strategy<Value = Call> {
    let commands = prop::collection::vec(select(COMMANDS), 0..6)
        .prop_map(|c| c.iter().enumerate().map(|(i, c)| (format!("cmd[c{i}]"), (*c).to_owned())).collect::<Vec<_>>());
    (select(METHODS), token(), params(), commands, any::<bool>(), any::<bool>()).prop_map(
        |(method, token, mut params, commands, batch, halt)| {
            let method = if batch { "batch" } else { method };
            params.insert(0, ("auth".to_owned(), token));
            params.extend(commands);
            if halt {
                params.push(("halt".to_owned(), "1".to_owned()));
            }
            Call {
                host: Host::Portal,
                method: "POST".to_owned(),
                path: format!("/rest/{method}.json"),
                query: String::new(),
                headers: vec![("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())],
                body: form(&params, false).into_bytes(),
            }
        },
    )
}

/// A refresh grant with the app's client or a wrong one.
fn refresh_call() -> impl Strategy<Value = Call> {
    (host(), token(), any::<bool>(), any::<bool>()).prop_map(|(host, token, right_client, get)| {
        let client = PortalConfig::default().client;
        let secret = if right_client { client.secret } else { "wrong".to_owned() };
        let query = form(
            &[
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                ("client_id".to_owned(), client.id),
                ("client_secret".to_owned(), secret),
                ("refresh_token".to_owned(), token.replace("auth", "refresh")),
            ],
            false,
        );
        let (method, query, body) =
            if get { ("GET", query, Vec::new()) } else { ("POST", String::new(), query.into_bytes()) };
        Call { host, method: method.to_owned(), path: "/oauth/token/".to_owned(), query, headers: Vec::new(), body }
    })
}

fn session() -> impl Strategy<Value = Session> {
    let role = prop_oneof![9 => Just(Role::Home), 1 => Just(Role::Foreign)];
    let call = prop_oneof![3 => any_call(), 4 => rest_call(), 1 => refresh_call()];
    (role, prop::collection::vec(call, 1..5)).prop_map(|(role, calls)| Session { role, calls })
}

/// The wiremock request a handler's `call` arrives as; parts HTTP cannot carry (an invalid
/// method or header) are left out, as the server would never see them.
fn request(call: &Call) -> Request {
    let mut url = Url::parse(&format!("http://{ADDR}")).expect("a valid base URL");
    url.set_path(&call.path);
    url.set_query(Some(&call.query).filter(|q| !q.is_empty()).map(String::as_str));
    let mut headers = HeaderMap::new();
    for (name, value) in &call.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            headers.insert(name, value);
        }
    }
    let method = Method::from_bytes(call.method.as_bytes()).unwrap_or(Method::POST);
    Request { url, method, headers, body: call.body.clone() }
}

fn portal(role: Role) -> Offline {
    let portal = Offline::new(role, PortalConfig::default(), ADDR.parse::<SocketAddr>().expect("an address"));
    for (i, state) in STATES.into_iter().enumerate() {
        portal.grant(i, &format!("auth-{i}"), &format!("refresh-{i}"), state, None);
    }
    portal
}

/// The assertion of the module comment, for one answer.
fn check(request: &Request, served: &Served, recorded: &[PortalCall]) -> Result<(), String> {
    let body: Value = serde_json::from_slice(&served.body).map_err(|e| format!("body is not JSON: {e}"))?;
    let Value::Object(envelope) = &body else { return Err(format!("body is not a JSON object: {body}")) };
    let text = |key: &str| envelope.get(key).and_then(Value::as_str);
    let number = |block: &Value, key: &str| block.get(key).is_some_and(Value::is_number);
    let error = text("error");
    if let Some(code) = error {
        if code.is_empty() || text("error_description").is_none() || envelope.contains_key("result") {
            return Err(format!("malformed error envelope: {body}"));
        }
        if !(200..600).contains(&served.status) {
            return Err(format!("error with status {}", served.status));
        }
    } else if envelope.contains_key("result") {
        let time = envelope.get("time").filter(|t| t.is_object());
        if served.status != 200
            || !time.is_some_and(|t| number(t, "start") && number(t, "finish") && number(t, "duration"))
        {
            return Err(format!("malformed success envelope (status {}): {body}", served.status));
        }
    } else {
        let at_token = request.url.path().to_ascii_lowercase().contains("token");
        let grant = text("access_token").is_some_and(|t| !t.is_empty())
            && text("refresh_token").is_some_and(|t| !t.is_empty())
            && number(&body, "expires_in");
        if !(at_token && grant && served.status == 200) {
            return Err(format!("not a Bitrix24 envelope (status {}): {body}", served.status));
        }
    }
    let call = recorded.first().ok_or("the request was not recorded")?;
    if call.status != served.status || call.error.as_deref() != error {
        return Err(format!("recorded {} {:?}, answered {} {error:?}", call.status, call.error, served.status));
    }
    Ok(())
}

fn run_session(session: &Session) -> Result<(), TestCaseError> {
    let portal = portal(session.role);
    for (i, call) in session.calls.iter().enumerate() {
        let request = request(call);
        let served = portal.answer(call.host, &request);
        let recorded = portal.take_remaining();
        check(&request, &served, &recorded).map_err(|e| TestCaseError::fail(format!("call {i}: {e}")))?;
    }
    Ok(())
}

/// Runs shard `part` of [`SHARDS`]: its share of the sessions, from its own fixed seed.
fn fuzz(part: u32) {
    let cases = cases() / SHARDS + u32::from(part < cases() % SHARDS);
    let config = Config {
        cases,
        rng_seed: RngSeed::Fixed(SEED + u64::from(part)),
        // ChaCha, the default, is a third of the time in a debug build: proptest reseeds a
        // generator for every branch of every union.
        rng_algorithm: RngAlgorithm::XorShift,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let started = Instant::now();
    let result = TestRunner::new(config).run(&session(), |session| run_session(&session));
    eprintln!("portal_fuzz: shard {part}: {cases} sessions in {:.1?}", started.elapsed());
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

/// The sessions are split into this many tests, which the test harness runs on as many threads:
/// the same sessions on any machine, in half the time on two cores.
const SHARDS: u32 = 2;

#[test]
fn the_portal_answers_anything_with_an_envelope_1_of_2() {
    fuzz(0);
}

#[test]
fn the_portal_answers_anything_with_an_envelope_2_of_2() {
    fuzz(1);
}

/// A batch call with the valid token and these commands, in order.
fn batch(commands: &[(&str, String)]) -> Request {
    let mut params = vec![("auth".to_owned(), "auth-0".to_owned())];
    params.extend(commands.iter().map(|(name, command)| (format!("cmd[{name}]"), command.clone())));
    request(&Call {
        host: Host::Portal,
        method: "POST".to_owned(),
        path: "/rest/batch.json".to_owned(),
        query: String::new(),
        headers: vec![("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())],
        body: form(&params, false).into_bytes(),
    })
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Found by this fuzz target: a batch that stores what `app.option.get` answered under a deep
/// key, round after round, made the stored options 61 levels deeper each round; serialising,
/// cloning or dropping them then overflowed the stack, which aborts the whole run.
#[test]
fn batch_references_do_not_nest_options_without_bound() {
    let portal = portal(Role::Home);
    let deep = "[k]".repeat(60);
    for _ in 0..40 {
        let served = portal.answer(
            Host::Portal,
            &batch(&[("g", "app.option.get".to_owned()), ("s", format!("app.option.set?options[a]{deep}=$result[g]"))]),
        );
        portal.take_remaining();
        assert_eq!(served.status, 200);
    }
    let served = portal.answer(Host::Portal, &batch(&[("g", "app.option.get".to_owned())]));
    let body: Value = serde_json::from_slice(&served.body).expect("JSON");
    assert!(depth(&body) < 80, "options nested {} deep", depth(&body));
}

/// Found by this fuzz target: each `options[x]=$result[g]` copies the whole answer of an earlier
/// `app.option.get`, so get/set pairs triple the stored options command after command (3^13 in
/// this batch of 27 commands; 3^24, gigabytes, in one of 49).
#[test]
fn batch_references_do_not_multiply_what_they_copy() {
    let portal = portal(Role::Home);
    let set =
        |g: &str| format!("app.option.set?options[a]=$result[{g}]&options[b]=$result[{g}]&options[c]=$result[{g}]");
    let mut commands = vec![("s", "app.option.set?options[x]=seed".to_owned())];
    let names: Vec<(String, String)> = (0..13).map(|i| (format!("g{i}"), format!("s{i}"))).collect();
    for (g, s) in &names {
        commands.push((g.as_str(), "app.option.get".to_owned()));
        commands.push((s.as_str(), set(g)));
    }
    let served = portal.answer(Host::Portal, &batch(&commands));
    assert_eq!(served.status, 200);
    assert!(served.body.len() < 16 << 20, "a batch answer of {} bytes", served.body.len());
}
