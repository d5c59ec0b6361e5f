//! The mock portal answers as Bitrix24 does (PROTOCOL.md sections 2–4), read like the docs.

use b24_conform::fire;
use b24_conform::portal::{Endpoint, OauthClient, Portal, PortalConfig, Role, TokenRole};
use b24_conform::suite::TokenState;
use serde_json::{Value, json};

const AUTH: &str = "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0";
const REFRESH: &str = "r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0r0";

async fn portal(state: TokenState) -> Portal {
    let portal = Portal::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    portal.grant(0, AUTH, REFRESH, state);
    portal
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
        assert!(body["error_description"].is_string());
        assert!(body.get("time").is_none(), "Bitrix24 adds no time block to errors");
    }
    let refreshed = refresh_get(&portal, REFRESH).await;
    let token = refreshed["access_token"].as_str().unwrap();
    let (status, body) = answer(client.get(format!("{rest}no.such.method?auth={token}")).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (404, "ERROR_METHOD_NOT_FOUND"));
}

async fn refresh_get(portal: &Portal, refresh_token: &str) -> Value {
    let url = format!(
        "{}?grant_type=refresh_token&client_id=app&client_secret=s&refresh_token={refresh_token}",
        portal.oauth_url()
    );
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
    let reused = client
        .get(format!("{}?grant_type=refresh_token&refresh_token={REFRESH}", portal.oauth_url()))
        .send()
        .await
        .unwrap();
    let (status, body) = answer(reused).await;
    assert_eq!((status, body["error"].as_str().unwrap()), (400, "invalid_grant"));
    // POST with a form, as the JS SDK and CRest send it, to `//oauth/token/` as b24phpsdk builds it.
    let next = first["refresh_token"].as_str().unwrap();
    let url = portal.oauth_url().replace("/oauth/", "//oauth/");
    let response =
        client.post(url).form(&[("grant_type", "refresh_token"), ("refresh_token", next)]).send().await.unwrap();
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
    assert_eq!(calls.iter().map(|c| c.method.as_str()).collect::<Vec<_>>(), ["batch"], "one call, one record");
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
            (403, Some("insufficient_scope")),
            (403, Some("insufficient_scope")),
            200,
            (403, Some("insufficient_scope")),
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
        let url = format!("{}?grant_type=refresh_token&refresh_token={REFRESH}", portal.oauth_url());
        let (status, body) = answer(client.get(url).send().await.unwrap()).await;
        assert_eq!(status, refresh_status, "{state:?} refresh: {body}");
        if let Some(token) = body["access_token"].as_str() {
            assert_eq!(call(token.to_owned()).await, owned(refreshed), "{state:?} refreshed call");
        }
    }
}

/// With the app's credentials configured the OAuth server refuses others with invalid_client;
/// the statuses of insufficient_scope follow the configuration (403 documented, 401 in source).
#[tokio::test]
async fn the_oauth_client_and_disputed_statuses_are_configurable() {
    let config = PortalConfig {
        client: OauthClient { id: Some("app.1".into()), secret: Some("s3cret".into()) },
        insufficient_scope_status: 401,
    };
    let portal = Portal::start_as("127.0.0.1:0".parse().unwrap(), Role::Home, config, None).await.unwrap();
    portal.grant(0, AUTH, REFRESH, TokenState::InsufficientScope);
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
    let (status, body) = answer(refresh("app.1", "wrong").await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let (status, body) = answer(refresh("app.1", "s3cret").await.unwrap()).await;
    assert_eq!(status, 200, "the refused attempt did not spend the refresh token: {body}");
    let url = format!("{}user.current?auth={AUTH}", portal.rest_url());
    let (status, body) = answer(client.get(url).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("insufficient_scope")));
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
