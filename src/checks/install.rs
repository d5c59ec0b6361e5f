//! The installation: what the app must do when Bitrix24 installs it.

use super::{Check, Citation, Grade, fail, not_exercised, pass, skip};
use crate::record::Role;
use crate::suite::{EvidenceKind, Level};

pub const BINDS_LANDING_SETTINGS: Check = Check {
    id: "binds-landing-settings",
    level: Grade::Fixed(Level::Must),
    title: "Installing the app binds its placement (LANDING_SETTINGS, or a LANDING_BLOCK_ code for the block suite) to an absolute handler URL, with a TITLE",
    evidence: Citation {
        kind: EvidenceKind::Documentation,
        url: "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
        quote: "For embedding in the landing section, the internal method of the landing.repo.bind module is used instead of placement.bind.",
    },
    judge: |case, exchange, _| {
        if !case.kind.installs() {
            return skip("not the installation");
        }
        let binds: Vec<_> = exchange
            .portal_calls
            .iter()
            .filter(|c| c.portal == Role::Home && c.method == "landing.repo.bind")
            .collect();
        // The docs' own examples bind from the installation page's JavaScript (BX24.callMethod),
        // which the harness does not run: a page opened in a frame that called nothing from its
        // server has not shown what it binds.
        let in_frame = exchange.request.header("sec-fetch-dest") == Some("iframe");
        if binds.is_empty() && in_frame && exchange.portal_calls.is_empty() {
            return not_exercised(
                "the installation page made no REST call from its server; a page that binds from its JavaScript (BX24.callMethod) is not run by the harness",
            );
        }
        if binds.is_empty() {
            return fail("the app never called landing.repo.bind: the Sites section will not offer it");
        }
        // The placement of the run's suite: LANDING_SETTINGS, or any LANDING_BLOCK_ code.
        let family = case.family();
        let bound =
            binds.iter().find_map(|c| c.binding.as_ref().filter(|b| c.succeeded() && family.serves(&b.placement)));
        let Some(bound) = bound else {
            let tried: Vec<String> = binds
                .iter()
                .map(|c| {
                    let placement = c.binding.as_ref().map_or("(no fields)", |b| b.placement.as_str());
                    format!("{placement} → {}", c.error.as_deref().unwrap_or("bound"))
                })
                .collect();
            return fail(format!("no landing.repo.bind of {} succeeded: {}", family.code(), tried.join(", ")));
        };
        if bound.title.is_empty() {
            return fail(format!("bound {} with no TITLE: the menu item has no name", bound.handler));
        }
        // The portal refused relative handlers; the run itself stops when the bound one does not answer.
        pass(format!("bound {} as {:?}", bound.handler, bound.title))
    },
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Context;
    use crate::install::{self, InstallForm};
    use crate::payload::Family;
    use crate::record::Outcome;
    use crate::record::fixture::exchange;

    /// An installation page that called nothing from its server may bind from its JavaScript;
    /// an installation event that called nothing has bound nothing.
    #[test]
    fn a_frame_page_without_server_calls_is_not_exercised_an_event_fails() {
        let judge = |form: InstallForm, headers: Vec<(String, String)>| {
            let mut exchange = exchange("http://h/install", 200, "", Vec::new());
            exchange.request.headers = headers;
            (BINDS_LANDING_SETTINGS.judge)(&install::case(form, Family::Settings), &exchange, &Context::default())
                .outcome
        };
        let frame = vec![("Sec-Fetch-Dest".to_owned(), "iframe".to_owned())];
        assert_eq!(judge(InstallForm::Frame, frame), Outcome::NotExercised);
        assert_eq!(judge(InstallForm::Event, Vec::new()), Outcome::Fail);
    }

    /// The binding judged is the run's placement's: a block app binds a LANDING_BLOCK_ code, a
    /// settings app LANDING_SETTINGS, and neither passes for the other.
    #[test]
    fn the_binding_is_the_placement_familys() {
        let bind = |placement: &str| {
            let mut call = crate::record::fixture::call(200, None);
            call.method = "landing.repo.bind".to_owned();
            call.binding = Some(crate::record::RepoBinding {
                placement: placement.to_owned(),
                handler: "http://h/block".to_owned(),
                title: "Block".to_owned(),
            });
            exchange("http://h/install", 200, "", vec![call])
        };
        let judge = |family: Family, placement: &str| {
            (BINDS_LANDING_SETTINGS.judge)(
                &install::case(InstallForm::Event, family),
                &bind(placement),
                &Context::default(),
            )
            .outcome
        };
        assert_eq!(judge(Family::Block, "LANDING_BLOCK_*"), Outcome::Pass);
        assert_eq!(judge(Family::Block, "LANDING_BLOCK_04.1.ONE_COL_FIX_WITH_TITLE"), Outcome::Pass);
        assert_eq!(judge(Family::Block, "LANDING_SETTINGS"), Outcome::Fail);
        assert_eq!(judge(Family::Settings, "LANDING_BLOCK_*"), Outcome::Fail);
        assert_eq!(judge(Family::Settings, "LANDING_SETTINGS"), Outcome::Pass);
    }
}
