//! The mock portal answers as Bitrix24 does (PROTOCOL.md sections 2–4), read like the docs.

use b24_conform::fire;
use b24_conform::portal::{OauthClient, Portal, PortalConfig};
use b24_conform::record::{Endpoint, Role, TokenRole};
use b24_conform::suite::TokenState;
use serde_json::{Value, json};

const AUTH: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const REFRESH: &str = "r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0";

/// A portal with case 0's token pair, granted the scopes these tests call (user.get needs `user`,
/// which the documented example's APPLICATION_SCOPE lacks).
async fn portal(state: TokenState) -> Portal {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    portal.grant(0, AUTH, REFRESH, state, Some("crm,placement,landing,user"));
    portal
}

/// The refresh grant's query with the app's client credentials.
fn grant_query(portal: &Portal, refresh_token: &str) -> String {
    let client = portal.client();
    format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={refresh_token}",
        client.id, client.secret
    )
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_token_travels_in_query_form_json_or_bearer_and_both_url_forms_work() {
    let portal = portal(TokenState::Valid).await;
    let client = fire::client();
    let rest = portal.rest_url();
    let calls = [
        client.get(format!("{rest}user.current?auth={AUTH}")),
        client.post(format!("{rest}user.current.json")).form(&[("auth", AUTH)]),
        client.post(format!("{rest}user.current")).json(&json!({ "auth": AUTH })),
        client.post(format!("{rest}user.current.json")).bearer_auth(AUTH),
        client.post(format!("{rest}user.current.json")).form(&[("access_token", AUTH)]),
        // The JS SDK's `/rest//METHOD?bx24_request_id=…` (PROTOCOL.md, Observed when…).
        client.post(format!("{rest}/user.current?bx24_request_id=1")).json(&json!({ "auth": AUTH })),
    ];
    for call in calls {
        let (status, body) = answer(call.send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["ID"], "1");
        for key in ["start", "finish", "duration", "processing", "date_start", "date_finish"] {
            assert!(body["time"].get(key).is_some(), "every success answer has time.{key}");
        }
    }
    let recorded = portal.take_calls(0);
    assert_eq!(recorded.len(), 6);
    assert!(recorded.iter().all(|c| c.method == "user.current" && c.token == TokenRole::Given && c.status == 200));
}

#[tokio::test]
async fn errors_have_bitrix24s_envelope_and_status() {
    let portal = portal(TokenState::Expired).await;
    let client = fire::client();
    let rest = portal.rest_url();
    let cases = [
        (format!("{rest}user.current"), 401, "NO_AUTH_FOUND"),
        (format!("{rest}user.current?auth={AUTH}"), 401, "expired_token"),
        (format!("{rest}user.current?auth=not-a-token"), 401, "invalid_token"),
    ];
    for (url, status, code) in cases {
        let (got, body) = answer(client.get(url).send().await.unwrap()).await;
        assert_eq!((got, body["error"].as_str().unwrap()), (status, code), "{body}");
        if code == "expired_token" {
            // oauth/auth.php and system-errors.md word it without a final period.
            assert_eq!(body["error_description"], "The access token provided has expired");
        }
        assert!(body["error_description"].is_string());
        assert!(body.get("time").is_none(), "Bitrix24 adds no time block to errors");
    }
    let refreshed = refresh_get(&portal, REFRESH).await;
    let token = refreshed["access_token"].as_str().unwrap();
    let (status, body) = answer(client.get(format!("{rest}no.such.method?auth={token}")).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (404, "ERROR_METHOD_NOT_FOUND"));
}

async fn refresh_get(portal: &Portal, refresh_token: &str) -> Value {
    let url = format!("{}?{}", portal.oauth_url(), grant_query(portal, refresh_token));
    fire::client().get(url).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn refresh_tokens_rotate_are_single_use_and_work_by_get_or_post() {
    let portal = portal(TokenState::Expired).await;
    let client = fire::client();
    // GET with a query, as b24phpsdk and b24pysdk send it.
    let first = refresh_get(&portal, REFRESH).await;
    for key in [
        "access_token",
        "refresh_token",
        "expires",
        "expires_in",
        "member_id",
        "client_endpoint",
        "server_endpoint",
        "scope",
        "status",
        "user_id",
        "domain",
    ] {
        assert!(first.get(key).is_some(), "refresh answer lacks {key}: {first}");
    }
    // The spent refresh token is refused.
    let reused = refresh_get(&portal, REFRESH).await;
    assert_eq!(reused["error"], "invalid_grant");
    // POST with a form, as the JS SDK and CRest send it, to `//oauth/token/` as b24phpsdk builds it.
    let next = first["refresh_token"].as_str().unwrap();
    let url = portal.oauth_url().replace("/oauth/", "//oauth/");
    let client_pair = portal.client();
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", &client_pair.id),
        ("client_secret", &client_pair.secret),
        ("refresh_token", next),
    ];
    let response = client.post(url).form(&form).send().await.unwrap();
    let (status, second) = answer(response).await;
    assert_eq!(status, 200, "{second}");
    let token = second["access_token"].as_str().unwrap();
    let (status, _) =
        answer(client.get(format!("{}app.info?auth={token}", portal.rest_url())).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let roles: Vec<_> = portal.take_calls(0).iter().map(|c| (c.endpoint, c.token, c.status)).collect();
    assert_eq!(
        roles,
        [
            (Endpoint::Oauth, TokenRole::Refresh, 200),
            (Endpoint::Oauth, TokenRole::Refresh, 400),
            (Endpoint::Oauth, TokenRole::Refresh, 200),
            (Endpoint::Rest, TokenRole::Refreshed, 200)
        ]
    );
}

#[tokio::test]
async fn landing_repo_bind_and_unbind_validate_their_fields() {
    let portal = portal(TokenState::Valid).await;
    let client = fire::client();
    let bind = format!("{}landing.repo.bind", portal.rest_url());
    let unbind = format!("{}landing.repo.unbind", portal.rest_url());
    let handler = "https://app.example.com/settings.php";
    let call = |url: String, body: Value| {
        let client = client.clone();
        async move { answer(client.post(url).json(&body).send().await.unwrap()).await }
    };
    // The documented curl example, as JSON.
    let fields = json!({"PLACEMENT": "landing_settings ", "PLACEMENT_HANDLER": handler, "TITLE": "My Settings"});
    let (status, body) = call(bind.clone(), json!({"fields": fields, "auth": AUTH})).await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let (status, body) = call(bind.clone(), json!({"fields": fields, "auth": AUTH})).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (400, "PLACEMENT_EXIST"));
    // The same with PHP brackets in a form, as CRest sends it.
    let form = [
        ("auth", AUTH),
        ("fields[PLACEMENT]", "LANDING_SETTINGS"),
        ("fields[PLACEMENT_HANDLER]", "https://other.example.com/"),
    ];
    let (status, _) = answer(client.post(bind.clone()).form(&form).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let refusals = [
        (json!({"auth": AUTH}), "MISSING_PARAMS"),
        (json!({"auth": AUTH, "fields": "x"}), "TYPE_ERROR"),
        (
            json!({"auth": AUTH, "fields": {"PLACEMENT": "CRM_LEAD_DETAIL_TAB", "PLACEMENT_HANDLER": handler}}),
            "PLACEMENT_UNKNOWN",
        ),
        (
            json!({"auth": AUTH, "fields": {"PLACEMENT": "LANDING_SETTINGS", "PLACEMENT_HANDLER": "/relative"}}),
            "PLACEMENT_HANDLER_INVALID",
        ),
    ];
    for (body, code) in refusals {
        let (status, answer) = call(bind.clone(), body).await;
        assert_eq!((status, answer["error"].as_str().unwrap()), (400, code));
    }
    let (status, body) =
        call(unbind.clone(), json!({"auth": AUTH, "code": "LANDING_SETTINGS", "handler": handler})).await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let (status, body) =
        call(unbind.clone(), json!({"auth": AUTH, "code": "LANDING_SETTINGS", "handler": handler})).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (400, "PLACEMENT_NO_EXIST"));
    let (status, body) = call(unbind, json!({"auth": AUTH})).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (400, "MISSING_PARAMS"));
}

/// landing-site-get-list.md: selection parameters go under `params` (`select`, `filter`,
/// `order`, `limit`, `offset`); the answer is the array of sites and the `time` block, with no
/// `total`; a filter that matches nothing answers `result: []` without an error.
#[tokio::test]
async fn site_list_reads_params_filter_and_answers_an_array_without_total() {
    let portal = portal(TokenState::Valid).await;
    let url = format!("{}landing.site.getList.json", portal.rest_url());
    let client = fire::client();
    let response = client.post(&url).form(&[("auth", AUTH), ("params[filter][ID]", "30")]).send().await.unwrap();
    let (status, body) = answer(response).await;
    assert_eq!(status, 200);
    assert_eq!(body["result"].as_array().map(Vec::len), Some(1));
    assert_eq!((body["result"][0]["ID"].as_str(), body["result"][0]["TYPE"].as_str()), (Some("30"), Some("PAGE")));
    assert!(body.get("total").is_none() && body["time"].is_object(), "{body}");
    let json = json!({"auth": AUTH, "params": {"filter": {"=ID": 999_999}}});
    let (status, body) = answer(client.post(&url).json(&json).send().await.unwrap()).await;
    assert_eq!((status, body["result"].clone()), (200, json!([])));
    let json = json!({"auth": AUTH, "params": {"limit": 5, "offset": 10}});
    let (_, body) = answer(client.post(&url).json(&json).send().await.unwrap()).await;
    let ids: Vec<&str> = body["result"].as_array().unwrap().iter().map(|s| s["ID"].as_str().unwrap()).collect();
    assert_eq!(ids, ["11", "12", "13", "14", "15"]);
    assert_eq!(portal.take_calls(0)[0].method, "landing.site.getlist", "method names are read lower-cased");
}

/// list-methods-pecularities.md: list methods page 50 at a time; `total` counts them all and
/// `next` is the `start` of the following page, absent on the last one.
#[tokio::test]
async fn lists_page_with_total_and_next() {
    let portal = portal(TokenState::Valid).await;
    let url = format!("{}user.get", portal.rest_url());
    let client = fire::client();
    let (status, first) = answer(client.post(&url).form(&[("auth", AUTH)]).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!((first["result"].as_array().unwrap().len(), first["total"].as_u64()), (50, Some(60)));
    let next = first["next"].as_u64().unwrap().to_string();
    let (_, last) = answer(client.post(&url).form(&[("auth", AUTH), ("start", &next)]).send().await.unwrap()).await;
    assert_eq!(last["result"].as_array().unwrap().len(), 10);
    assert!(last.get("next").is_none(), "{last}");
}

/// PROTOCOL.md 2.3: `batch` answers `result.{result, result_error, result_total, result_next,
/// result_time}` keyed by command name; PHP writes an empty map as `[]`.
#[tokio::test]
async fn batch_runs_each_command_with_the_batch_token() {
    let portal = portal(TokenState::Valid).await;
    let url = format!("{}batch.json", portal.rest_url());
    let form = [
        ("auth", AUTH),
        ("halt", "0"),
        ("cmd[me]", "user.current"),
        ("cmd[users]", "user.get?start=50"),
        ("cmd[nope]", "no.such.method"),
    ];
    let (status, body) = answer(fire::client().post(&url).form(&form).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["result"]["me"]["ID"], "1");
    assert_eq!(result["result_total"]["users"], 60);
    assert_eq!(result["result_error"]["nope"]["error"], "ERROR_METHOD_NOT_FOUND");
    assert_eq!(result["result_next"], json!([]), "no command has a next page");
    assert!(result["result_time"]["me"]["start"].is_number() && body["time"].is_object());
    let calls = portal.take_calls(0);
    let recorded: Vec<_> = calls.iter().map(|c| (c.method.as_str(), c.batch.as_deref(), c.status)).collect();
    assert_eq!(
        recorded,
        [
            ("batch", None, 200),
            ("user.current", Some("me"), 200),
            ("user.get", Some("users"), 200),
            ("no.such.method", Some("nope"), 404)
        ],
        "the batch, then each command as it was answered inside it"
    );
    let nested = [("auth", AUTH), ("cmd[inner]", "batch?cmd[x]=user.current")];
    let (status, body) = answer(fire::client().post(&url).form(&nested).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (405, Some("ERROR_BATCH_METHOD_NOT_ALLOWED")));
}

/// An unknown method is `ERROR_METHOD_NOT_FOUND` "Method not found!" at 404 (CRestServer);
/// there is no `landing.site.get` (api-reference/landing/site lists getList only), while
/// `landing.landing.getList` selects pages by `params[filter][SITE_ID]`.
#[tokio::test]
async fn unknown_methods_are_not_found_and_pages_list_by_site() {
    let portal = portal(TokenState::Valid).await;
    let client = fire::client();
    for method in ["no.such.method", "landing.site.get"] {
        let url = format!("{}{method}.json?auth={AUTH}", portal.rest_url());
        let (status, body) = answer(client.get(url).send().await.unwrap()).await;
        assert_eq!(
            (status, body["error"].as_str(), body["error_description"].as_str()),
            (404, Some("ERROR_METHOD_NOT_FOUND"), Some("Method not found!"))
        );
    }
    let url = format!("{}landing.landing.getList", portal.rest_url());
    let form = [("auth", AUTH), ("params[filter][SITE_ID]", "7")];
    let (status, body) = answer(client.post(url).form(&form).send().await.unwrap()).await;
    assert_eq!((status, body["result"][0]["SITE_ID"].as_str()), (200, Some("7")));
}

/// Each token state answers as Bitrix24 does (PROTOCOL.md 2.4, 3): the status and code of the
/// first and of a later call with the given token, then of the refresh and a refreshed call.
#[tokio::test]
async fn each_token_state_answers_with_its_error() {
    let client = fire::client();
    let expectations = [
        (TokenState::Expiring, (200, None), (401, Some("expired_token")), 200, (200, None)),
        (TokenState::Revoked, (401, Some("invalid_token")), (401, Some("invalid_token")), 400, (0, None)),
        (
            TokenState::InsufficientScope,
            (401, Some("insufficient_scope")),
            (401, Some("insufficient_scope")),
            200,
            (401, Some("insufficient_scope")),
        ),
        (TokenState::RateLimited, (503, Some("QUERY_LIMIT_EXCEEDED")), (200, None), 200, (200, None)),
    ];
    for (state, first, later, refresh_status, refreshed) in expectations {
        let portal = portal(state).await;
        let call = |token: String| {
            let url = format!("{}user.current?auth={token}", portal.rest_url());
            let client = client.clone();
            async move {
                let (status, body) = answer(client.get(url).send().await.unwrap()).await;
                (status, body["error"].as_str().map(str::to_owned))
            }
        };
        let owned = |(s, e): (u16, Option<&str>)| (s, e.map(str::to_owned));
        assert_eq!(call(AUTH.to_owned()).await, owned(first), "{state:?} first call");
        assert_eq!(call(AUTH.to_owned()).await, owned(later), "{state:?} later call");
        let url = format!("{}?{}", portal.oauth_url(), grant_query(&portal, REFRESH));
        let (status, body) = answer(client.get(url).send().await.unwrap()).await;
        assert_eq!(status, refresh_status, "{state:?} refresh: {body}");
        if let Some(token) = body["access_token"].as_str() {
            assert_eq!(call(token.to_owned()).await, owned(refreshed), "{state:?} refreshed call");
        }
    }
}

/// The OAuth server refuses a refresh without the app's client_id and client_secret
/// (auto-renewal.md marks both required) with invalid_client; the statuses of insufficient_scope
/// follow the configuration (401 in the product's source, the default; 403 for webhooks).
#[tokio::test]
async fn the_oauth_client_and_disputed_statuses_are_configurable() {
    let config = PortalConfig {
        client: OauthClient { id: "app.1".into(), secret: "s3cret".into() },
        insufficient_scope_status: 403,
    };
    let portal = Portal::start_as("127.0.0.1:0".parse().unwrap(), Role::Home, config, None).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::InsufficientScope, None);
    let client = fire::client();
    let refresh = |id: &str, secret: &str| {
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", id.to_owned()),
            ("client_secret", secret.to_owned()),
            ("refresh_token", REFRESH.to_owned()),
        ];
        client.post(portal.oauth_url()).form(&form).send()
    };
    for (id, secret) in [("app.1", "wrong"), ("", ""), ("app.2", "s3cret")] {
        let (status, body) = answer(refresh(id, secret).await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "{id:?} {secret:?}");
    }
    let without = format!("{}?grant_type=refresh_token&refresh_token={REFRESH}", portal.oauth_url());
    let (status, body) = answer(client.get(without).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "no credentials at all");
    let (status, body) = answer(refresh("app.1", "s3cret").await.unwrap()).await;
    assert_eq!(status, 200, "the refused attempts did not spend the refresh token: {body}");
    let url = format!("{}user.current?auth={AUTH}", portal.rest_url());
    let (status, body) = answer(client.get(url).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("insufficient_scope")));
}

/// Recycling drops wiremock's copies of the requests (STACK.md) and nothing of the portal's own:
/// tokens, spent refresh tokens and calls not yet taken survive it.
#[tokio::test]
async fn recycling_keeps_tokens_and_calls() {
    let portal = portal(TokenState::Valid).await;
    let url = format!("{}user.current?auth={AUTH}", portal.rest_url());
    let client = fire::client();
    assert_eq!(answer(client.get(&url).send().await.unwrap()).await.0, 200);
    refresh_get(&portal, REFRESH).await;
    portal.recycle().await;
    assert_eq!(answer(client.get(&url).send().await.unwrap()).await.0, 200);
    let reused = refresh_get(&portal, REFRESH).await;
    assert_eq!(reused["error"], "invalid_grant", "the refresh token stays spent");
    assert_eq!(portal.take_calls(0).len(), 4);
}

/// POSTs a JSON body with the case's token to the portal's `method`.
async fn call(portal: &Portal, method: &str, mut body: Value) -> (u16, Value) {
    body["auth"] = json!(AUTH);
    answer(fire::client().post(format!("{}{method}", portal.rest_url())).json(&body).send().await.unwrap()).await
}

/// SERVER_ENDPOINT is the OAuth server's, on a port of its own (widget_data.md: "Address of the
/// Bitrix24 authorization server needed to refresh OAuth 2 tokens"); its refresh answers with
/// auto-renewal.md's fields: `domain` is the authorization server's, `server_endpoint` its REST,
/// `client_endpoint` the portal's, scope, status and user_id those of the installation and case.
/// The portal's own `/oauth/token/` answers too, as the cloud proxies it (on-premise/index.md),
/// and is recorded apart.
#[tokio::test]
async fn the_oauth_server_is_apart_and_its_refresh_names_both_hosts() {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::Expired, Some("landing,user"));
    let oauth = portal.oauth_origin();
    assert_ne!(oauth, portal.origin());
    assert_eq!(portal.server_endpoint(), format!("{oauth}/rest/"));
    let foreign =
        Portal::start_as("127.0.0.1:0".parse().unwrap(), Role::Foreign, PortalConfig::default(), None).await.unwrap();
    assert_eq!(portal.binding(&foreign).server_endpoint, portal.server_endpoint());
    let body = refresh_get(&portal, REFRESH).await;
    let oauth_host = oauth.trim_start_matches("http://");
    assert_eq!(body["domain"], oauth_host);
    assert_eq!(body["server_endpoint"], portal.server_endpoint());
    assert_eq!(body["client_endpoint"], portal.rest_url());
    assert_eq!(
        (body["scope"].as_str(), body["status"].as_str(), body["user_id"].as_u64()),
        (Some("landing,user"), Some("F"), Some(1))
    );
    assert_eq!(body["member_id"], portal.member_id());
    let expires = body["expires"].as_u64().unwrap();
    assert!(expires > 1_700_000_000 && body["expires_in"] == 3600, "{body}");
    // The portal's own token endpoint passes the grant on.
    let next = body["refresh_token"].as_str().unwrap();
    let url = format!("{}/oauth/token/?{}", portal.origin(), grant_query(&portal, next));
    let (status, _) = answer(fire::client().get(url).send().await.unwrap()).await;
    assert_eq!(status, 200);
    // REST methods are the portal's: the OAuth server answers app.info only.
    let token = body["access_token"].as_str().unwrap();
    let (status, body) =
        answer(fire::client().get(format!("{oauth}/rest/user.current?auth={token}")).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("NOT_FOUND")));
    let endpoints: Vec<_> =
        portal.take_calls(0).iter().map(|c| (c.endpoint, c.to_string().starts_with("oauth:"))).collect();
    assert_eq!(endpoints, [(Endpoint::Oauth, true), (Endpoint::PortalOauth, false), (Endpoint::OauthRest, true)]);
}

/// The OAuth server's `app.info` carries the `install` block the SDKs' trust checks read:
/// b24pysdk `B24AppInfoResult.from_dict` (client_id, scope, expires as ISO 8601, install, user_id;
/// install: installed, version, status, scope, domain, uri, client_endpoint, member_id,
/// member_type) and `validate_against_app_info` (member_id, and the client endpoint's hostname
/// as domain); b24phpsdk `guardValidateCurrentAuthToken` (install.uri is scheme://host). The
/// portal's own app.info is app-info.md's, INSTALLED false until the installation finishes.
#[tokio::test]
async fn app_info_answers_as_the_portal_and_as_the_oauth_server() {
    let portal = portal(TokenState::Valid).await;
    let client = fire::client();
    let vendor = |body: Value| {
        let client = client.clone();
        let url = format!("{}app.info", portal.server_endpoint());
        async move { answer(client.post(url).json(&body).send().await.unwrap()).await }
    };
    let (status, body) = vendor(json!({"IS_NEED_OAUTH_SECURE_CHECK": true, "auth": AUTH})).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["client_id"], portal.client().id);
    assert_eq!(result["scope"], "crm,placement,landing,user", "the token's");
    assert_eq!(result["install"]["scope"], "crm,placement,landing", "the documented example's APPLICATION_SCOPE");
    assert!(result["expires"].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(result["user_id"], 1);
    let install = &result["install"];
    let host = portal.origin().trim_start_matches("http://").split(':').next().unwrap().to_owned();
    assert_eq!(install["domain"], host.as_str());
    assert_eq!(install["uri"], format!("http://{host}"));
    assert_eq!(install["client_endpoint"], portal.rest_url());
    assert_eq!(install["member_id"], portal.member_id());
    assert_eq!((install["installed"].as_bool(), install["status"].as_str()), (Some(true), Some("F")));
    for key in ["version", "scope", "member_type"] {
        assert!(install[key].is_string(), "install.{key}: {install}");
    }
    // b24pysdk's GET to `/rest/app.info/` with a query.
    let url = format!("{}app.info/?auth={AUTH}", portal.server_endpoint());
    assert_eq!(answer(client.get(url).send().await.unwrap()).await.0, 200);
    let (status, body) = vendor(json!({"auth": "not-a-token"})).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));

    portal.set_installed(false);
    let (_, body) = vendor(json!({"auth": AUTH})).await;
    assert_eq!(body["result"]["install"]["installed"], false);
    let (status, body) = call(&portal, "app.info", json!({})).await;
    assert_eq!(status, 200);
    let keys: Vec<&str> = body["result"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "ID",
            "CODE",
            "VERSION",
            "STATUS",
            "INSTALLED",
            "PAYMENT_EXPIRED",
            "DAYS",
            "LANGUAGE_ID",
            "LICENSE",
            "LICENSE_TYPE",
            "LICENSE_FAMILY"
        ]
    );
    assert_eq!((body["result"]["INSTALLED"].as_bool(), body["result"]["STATUS"].as_str()), (Some(false), Some("F")));
    portal.set_installed(true);
    let (_, body) = call(&portal, "app.info", json!({})).await;
    assert_eq!(body["result"]["INSTALLED"], true);
    assert!(body["time"]["operating_reset_at"].is_number() && body["time"]["operating"].is_number());
}

/// batch.md: "the result of a previous request can be passed into the parameters of the next
/// request using the `$result[request_id][response_field]` syntax"; `halt=1` stops at the first
/// error. Each command is recorded as a call of its own, after the batch, and a landing.repo.bind
/// made inside it binds as one made alone.
#[tokio::test]
async fn batch_resolves_references_halts_and_records_its_commands() {
    let portal = portal(TokenState::Valid).await;
    let handler = "https://app.example.com/settings";
    let bind = format!(
        "landing.repo.bind?fields[PLACEMENT]=LANDING_SETTINGS&fields[PLACEMENT_HANDLER]={handler}&fields[TITLE]=%24result%5Bsite%5D%5B0%5D%5BTITLE%5D"
    );
    let body = json!({"halt": 1, "cmd": {
        "site": "landing.site.getList?params[filter][ID]=7",
        "url": "landing.site.getPublicUrl?id=$result[site][0][ID]",
        "bind": bind,
        "fails": "landing.repo.unbind",
        "never": "user.current",
    }});
    let (status, body) = call(&portal, "batch", body).await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    assert_eq!(result["result"]["url"], format!("{}/pub/site/7/", portal.origin()));
    assert_eq!(result["result"]["bind"], true);
    assert_eq!(result["result_error"]["fails"]["error"], "MISSING_PARAMS");
    assert!(result["result"].get("never").is_none(), "halt stops at the first error");
    let bound = portal.bindings();
    assert_eq!(bound.len(), 1);
    assert_eq!((bound[0].handler.as_str(), bound[0].title.as_str()), (handler, "Site 7"));
    let calls = portal.take_calls(0);
    let recorded: Vec<_> = calls.iter().map(|c| (c.method.as_str(), c.batch.as_deref())).collect();
    assert_eq!(
        recorded,
        [
            ("batch", None),
            ("landing.site.getlist", Some("site")),
            ("landing.site.getpublicurl", Some("url")),
            ("landing.repo.bind", Some("bind")),
            ("landing.repo.unbind", Some("fails"))
        ]
    );
    assert!(calls[3].succeeded() && calls[3].binding.as_ref().is_some_and(|b| b.placement == "LANDING_SETTINGS"));
    assert!(calls[3].to_string().ends_with("(in batch, as bind)"), "{}", calls[3]);
}

/// The installation check sees a landing.repo.bind made inside a batch (CRest's callBatch sends
/// `'method' => 'batch'`): the portal records it as a call of its own.
#[tokio::test]
async fn a_bind_inside_a_batch_passes_binds_landing_settings() {
    use b24_conform::checks::{self, Context};
    use b24_conform::install::{self, InstallForm};
    use b24_conform::record::{Exchange, HttpRequest, HttpResponse, Outcome};

    let portal = portal(TokenState::Valid).await;
    let judge = |portal_calls| {
        let exchange = Exchange {
            request: HttpRequest {
                method: "POST".into(),
                url: "http://h/install".into(),
                headers: vec![],
                body: Default::default(),
            },
            response: Ok(HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "text/html".into())],
                body: b"<p>Installed</p>".to_vec().into(),
                truncated: false,
                note: None,
                elapsed_ms: 1,
            }),
            portal_calls,
            redirects: Vec::new(),
            frame: None,
        };
        let verdicts = checks::check(
            &install::case(InstallForm::Event, b24_conform::payload::Family::Settings),
            &exchange,
            &Context::default(),
        );
        verdicts.into_iter().find(|v| v.id == "binds-landing-settings").unwrap().outcome
    };
    let cmd = "landing.repo.bind?fields[PLACEMENT]=LANDING_SETTINGS&fields[PLACEMENT_HANDLER]=https://a.example/s&fields[TITLE]=S";
    call(&portal, "batch", json!({"cmd": {"b": cmd}})).await;
    assert_eq!(judge(portal.take_calls(0)), Outcome::Pass);
    call(&portal, "batch", json!({"cmd": {"me": "user.current"}})).await;
    assert_eq!(judge(portal.take_calls(0)), Outcome::Fail, "a batch without the bind binds nothing");
}

/// PHP's curl sends an array CURLOPT_POSTFIELDS as multipart/form-data, which Bitrix24 reads as
/// it reads a urlencoded form (`$_POST`).
#[tokio::test]
async fn multipart_bodies_are_read() {
    let portal = portal(TokenState::Valid).await;
    let body = format!(
        "--b24\r\nContent-Disposition: form-data; name=\"auth\"\r\n\r\n{AUTH}\r\n\
         --b24\r\nContent-Disposition: form-data; name=\"params[filter][ID]\"\r\n\r\n12\r\n--b24--\r\n"
    );
    let response = fire::client()
        .post(format!("{}landing.site.getList.json", portal.rest_url()))
        .header("content-type", "multipart/form-data; boundary=b24")
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, body) = answer(response).await;
    assert_eq!((status, body["result"][0]["ID"].as_str()), (200, Some("12")), "{body}");
}

/// A token may call only the methods of its scopes (each method's page names its scope): with
/// APPLICATION_SCOPE=crm,placement, landing.* and user.get are insufficient_scope (401, as
/// oauth/auth.php raises it), while basic methods, user.current and placement.* answer.
#[tokio::test]
async fn a_tokens_scope_limits_its_methods() {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::Valid, Some("crm,placement"));
    for method in ["landing.site.getList", "landing.repo.bind", "user.get"] {
        let (status, body) = call(&portal, method, json!({})).await;
        assert_eq!((status, body["error"].as_str()), (401, Some("insufficient_scope")), "{method}");
    }
    for method in ["user.current", "profile", "user.admin", "app.info", "placement.list", "scope", "server.time"] {
        let (status, body) = call(&portal, method, json!({})).await;
        assert_eq!(status, 200, "{method}: {body}");
    }
    let (_, body) = call(&portal, "scope", json!({})).await;
    assert_eq!(body["result"], json!(["crm", "placement"]));
    let (_, body) = call(&portal, "batch", json!({"cmd": {"s": "landing.site.getList"}})).await;
    assert_eq!(body["result"]["result_error"]["s"]["error"], "insufficient_scope");
}

/// The methods a settings page calls answer with their pages' result shapes, and what the app
/// registers is kept: options, placements, event handlers (a later step posts events to them).
#[tokio::test]
async fn a_settings_pages_methods_answer_and_keep_what_they_set() {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::Valid, Some("crm,placement,landing,user"));
    let expect = |(status, body): (u16, Value), result: Value| {
        assert_eq!((status, &body["result"]), (200, &result), "{body}");
    };
    expect(call(&portal, "user.admin", json!({})).await, json!(true));
    let (_, profile) = call(&portal, "profile", json!({})).await;
    assert_eq!((profile["result"]["ID"].as_str(), profile["result"]["ADMIN"].as_bool()), (Some("1"), Some(true)));
    expect(call(&portal, "app.option.get", json!({})).await, json!([]));
    expect(call(&portal, "app.option.set", json!({"options": {"color": "red"}})).await, json!(true));
    expect(call(&portal, "app.option.get", json!({"option": "color"})).await, json!("red"));
    expect(call(&portal, "user.option.set", json!({"options": {"seen": "Y"}})).await, json!(true));
    expect(call(&portal, "user.option.get", json!({})).await, json!({"seen": "Y"}));
    let (status, body) = call(&portal, "app.option.set", json!({})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("ArgumentNullException")));

    let uninstall = json!({"event": "onAppUninstall", "handler": "https://app.example.com/uninstall"});
    expect(call(&portal, "event.bind", uninstall.clone()).await, json!(true));
    expect(
        call(&portal, "event.get", json!({})).await,
        json!([{"event": "ONAPPUNINSTALL", "handler": "https://app.example.com/uninstall", "auth_type": "0", "offline": 0}]),
    );
    assert_eq!(portal.event_handlers().len(), 1);
    let (status, body) = call(&portal, "event.bind", json!({"event": "nope", "handler": "https://a/"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("ERROR_EVENT_NOT_FOUND")));
    expect(call(&portal, "event.unbind", uninstall).await, json!({"count": 1}));
    assert!(portal.event_handlers().is_empty());

    let tab = json!({"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": "https://app.example.com/tab", "TITLE": "Tab"});
    expect(call(&portal, "placement.bind", tab).await, json!(true));
    let (_, body) = call(&portal, "placement.get", json!({})).await;
    assert_eq!(body["result"][0]["placement"], "CRM_DEAL_DETAIL_TAB");
    let (status, body) = call(&portal, "placement.bind", json!({"HANDLER": "https://a/"})).await;
    assert_eq!(
        (status, body["error"].as_str(), body["argument"].as_str()),
        (200, Some("ERROR_ARGUMENT"), Some("PLACEMENT"))
    );
    expect(call(&portal, "placement.unbind", json!({"PLACEMENT": "CRM_DEAL_DETAIL_TAB"})).await, json!({"count": 1}));

    let (_, body) = call(&portal, "server.time", json!({})).await;
    assert!(body["result"].as_str().is_some_and(|t| t.ends_with("+00:00")));
    expect(call(&portal, "landing.site.getAdditionalFields", json!({"id": 3})).await, {
        let (_, body) = call(&portal, "landing.site.getAdditionalFields", json!({"id": 3})).await;
        assert!(body["result"]["THEME_CODE"].is_string());
        body["result"].clone()
    });
    let (status, body) = call(&portal, "landing.landing.getAdditionalFields", json!({"lid": 999})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("LANDING_NOT_EXIST")));
    expect(call(&portal, "landing.site.update", json!({"id": 3, "fields": {"TITLE": "New"}})).await, json!(true));
    expect(call(&portal, "landing.landing.update", json!({"lid": 3, "fields": {"TITLE": "New"}})).await, json!(true));
    let site3 = format!("{}/pub/site/3/", portal.origin());
    expect(call(&portal, "landing.site.getPublicUrl", json!({"id": 3})).await, json!(site3));
    expect(call(&portal, "landing.site.getPublicUrl", json!({"id": [3]})).await, json!({"3": site3}));
    expect(call(&portal, "landing.landing.getPublicUrl", json!({"lid": 3})).await, json!(site3));
    // scope, select and order of the lists.
    let (_, body) = call(&portal, "landing.site.getList", json!({"scope": "KNOWLEDGE"})).await;
    assert_eq!(
        body["result"],
        json!([{"ID": "41", "CODE": "site41", "TITLE": "Site 41", "ACTIVE": "Y", "TYPE": "KNOWLEDGE"}])
    );
    let list = json!({"params": {"select": ["ID", "TITLE"], "order": {"ID": "DESC"}, "limit": 2}});
    expect(
        call(&portal, "landing.landing.getList", list).await,
        json!([{"ID": "40", "TITLE": "Home of site 40"}, {"ID": "39", "TITLE": "Home of site 39"}]),
    );
    let (status, body) = call(&portal, "landing.repo.bind", json!({"fields": "x"})).await;
    assert_eq!((status, body["error_description"].as_str()), (400, Some("Invalid call argument type: fields")));
}

/// Nothing the mock models answers ERROR_METHOD_NOT_FOUND (a run reads that answer as "not
/// modelled by the harness"); what it does not model does: unknown methods, the `.xml`
/// transport and REST v3 (`/rest/api/…`).
#[tokio::test]
async fn only_what_is_not_modelled_is_not_found() {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::Valid, Some("crm,placement,landing,user"));
    let (_, body) = call(&portal, "methods", json!({"full": true})).await;
    let methods: Vec<String> =
        body["result"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_owned()).collect();
    assert!(methods.len() > 25, "{methods:?}");
    for method in &methods {
        let (_, body) = call(&portal, method, json!({})).await;
        assert_ne!(body["error"], "ERROR_METHOD_NOT_FOUND", "{method} is modelled");
    }
    for method in ["crm.deal.list", "user.current.xml", "api/user.current"] {
        let (status, body) = call(&portal, method, json!({})).await;
        assert_eq!((status, body["error"].as_str()), (404, Some("ERROR_METHOD_NOT_FOUND")), "{method}");
    }
    let (status, body) = call(&portal, "profile", json!({})).await;
    assert_eq!(status, 200, "{body}");
}
