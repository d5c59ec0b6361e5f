//! Evidence: what a case (or a check) rests on — the kind of source, where a reader opens it, and
//! the sentence quoted from it. Everything cited is public or in this repository, so any reader
//! can check the grade of a requirement for themselves.

use serde::{Deserialize, Serialize};

/// The kind of source a requirement rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// The Bitrix24 REST documentation.
    Documentation,
    /// Bitrix24's own product code.
    ProductSource,
    /// An official SDK's source (b24phpsdk, b24pysdk, b24jssdk, CRest).
    SdkSource,
    /// A standard: an RFC, OWASP ASVS.
    Specification,
    /// The project's own reading of the sources, kept in the repository.
    Inference,
}

impl EvidenceKind {
    /// The name suite files and reports use.
    pub fn label(self) -> &'static str {
        match self {
            EvidenceKind::Documentation => "documentation",
            EvidenceKind::ProductSource => "product-source",
            EvidenceKind::SdkSource => "sdk-source",
            EvidenceKind::Specification => "specification",
            EvidenceKind::Inference => "inference",
        }
    }
}

/// A suite's `[docs.KEY]` table: one source, quoted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The suite file's short name for it, which reports group by.
    pub key: String,
    pub kind: EvidenceKind,
    /// A public https URL, or a path in the repository (`docs/protocol.md#lid-zero`).
    pub url: String,
    /// The sentence, verbatim; for an inference, the project's statement of what it infers.
    pub quote: String,
    /// Why it matters, or how it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Whether a reader can open `url`: a public https URL, or a path inside the repository. The
/// team's private notes (`shared/`, `PROTOCOL.md`) are no evidence: a reader cannot open them.
pub fn check_url(url: &str) -> Result<(), String> {
    let fix = "give a public https:// URL or a path in the repository such as docs/protocol.md#anchor";
    let lower = url.to_ascii_lowercase();
    if lower.contains("shared/") || url.contains("PROTOCOL.md") {
        return Err(format!("`{url}` names notes outside the repository, which no reader can open; {fix}"));
    }
    if let Some(rest) = lower.strip_prefix("https://") {
        if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
            return Err(format!("`{url}` is not a URL; {fix}"));
        }
        return Ok(());
    }
    let scheme = url.split_once(':').is_some_and(|(head, _)| !head.contains(['/', '#']));
    let path = url.split('#').next().unwrap_or_default();
    let outside = path.is_empty()
        || path.starts_with(['/', '~', '\\'])
        || path.split('/').any(|segment| segment == "..")
        || path.contains(char::is_whitespace);
    if scheme || outside {
        return Err(format!("`{url}` is neither an https URL nor a path in the repository; {fix}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_and_repository_paths_only() {
        for good in [
            "https://apidocs.bitrix24.com/api-reference/landing/embedding/settings.html",
            "https://www.rfc-editor.org/rfc/rfc8259#section-4",
            "docs/protocol.md#lid-zero",
            "docs/protocol.md",
            "README.md",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in [
            "http://apidocs.bitrix24.com/x.html",
            "file:///etc/passwd",
            "/work/notes/x.md",
            "../shared/PROTOCOL.md",
            "shared/seed/landing-settings-placement.txt",
            "PROTOCOL.md 1.3",
            "https://example.com/shared/x",
            "~/notes.md",
            "docs/../../x.md",
            "",
            "https://",
            "Seed page, What the Handler Receives",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
