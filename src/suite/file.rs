//! The suite file format (TOML). Every table refuses unknown keys, so a typo is an error that
//! names the file, line and column and the keys that are known.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::plan::{Group, Part};
use super::{Case, CaseKind, Draw, Evidence, EvidenceKind, Expectation, Level, TokenState, catalog_payload, check_url};
use crate::generate::{Mutation, Space};
use crate::payload::{FIELDS, Family, Payload, field_spec};

/// A suite that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot read suite {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: String, line: usize, column: usize, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteFile {
    /// Required, so a file that is not a suite is refused early.
    #[serde(rename = "suite")]
    header: Header,
    #[serde(default)]
    docs: BTreeMap<String, DocEntry>,
    #[serde(default)]
    case: Vec<CaseEntry>,
    #[serde(default)]
    matrix: Vec<MatrixEntry>,
    #[serde(default)]
    generate: Vec<GenerateEntry>,
    /// Steps in order, fired after every other case (`crate::journey`).
    #[serde(default)]
    journey: Vec<crate::journey::JourneyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    /// For people, as is `description`: validated, never read.
    #[serde(rename = "name")]
    _name: String,
    #[serde(default, rename = "description")]
    _description: String,
    /// The placement the suite is about (LANDING_SETTINGS by default): its cases start from that
    /// placement's documented example request and go to the handler the app bound for it.
    #[serde(default)]
    placement: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DocEntry {
    kind: EvidenceKind,
    url: Spanned<String>,
    quote: String,
    #[serde(default)]
    note: Option<String>,
}

/// The payload a named case starts from.
#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Base {
    /// The documentation's example request.
    #[default]
    Documented,
    /// The same request from a portal that predates SERVER_ENDPOINT, APPLICATION_TOKEN and
    /// APPLICATION_SCOPE (the app.layout template and the captured SDK fixture lack them).
    Legacy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseEntry {
    id: Spanned<String>,
    title: String,
    doc: Spanned<String>,
    level: Level,
    #[serde(default)]
    base: Base,
    #[serde(default)]
    mutate: Vec<Spanned<Mutation>>,
    #[serde(default)]
    token: TokenState,
    expect: Expectation,
}

/// Many cases from one table: every field × every named value, through one operator. `{field}`
/// and `{name}` in `id` and `title` become the field and the value's name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixEntry {
    id: Spanned<String>,
    title: String,
    doc: Spanned<String>,
    level: Level,
    #[serde(default)]
    base: Base,
    /// The fields `op` works on; none for operators that name no field (`method`).
    #[serde(default)]
    fields: Vec<Spanned<String>>,
    values: BTreeMap<String, String>,
    #[serde(default)]
    op: MatrixOp,
    /// Applied before the matrix's own mutation.
    #[serde(default)]
    mutate: Vec<Spanned<Mutation>>,
    #[serde(default)]
    token: TokenState,
    expect: Expectation,
}

/// The operator a matrix applies with each field and value: the mutation of the same name.
#[derive(Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MatrixOp {
    #[default]
    Set,
    Raw,
    Duplicate,
    /// The value is unused.
    PhpArray,
    /// The value is unused.
    Move,
    /// The value is the size in bytes.
    Oversize,
    /// The field is a header name.
    Header,
    /// The field is unused; the value is the HTTP method.
    Method,
    /// The field is a key of PLACEMENT_OPTIONS, set to the value.
    Option,
    /// The field is unused; the value becomes a key of PLACEMENT_OPTIONS.
    OptionKey,
}

impl MatrixOp {
    fn mutation(self, field: &str, value: &str) -> Result<Mutation, String> {
        let (field, value) = (field.to_owned(), value.to_owned());
        Ok(match self {
            MatrixOp::Set => Mutation::Set { field, value },
            MatrixOp::Raw => Mutation::Raw { field, encoded: value },
            MatrixOp::Duplicate => Mutation::Duplicate { field, value },
            MatrixOp::PhpArray => Mutation::PhpArray(field),
            MatrixOp::Move => Mutation::Move(field),
            MatrixOp::Oversize => {
                let bytes = value.parse().map_err(|_| format!("oversize needs a size in bytes, not `{value}`"))?;
                Mutation::Oversize { field, bytes }
            }
            MatrixOp::Header => Mutation::Header { name: field, value },
            MatrixOp::Method => Mutation::Method(value),
            MatrixOp::Option => Mutation::Option { key: field, value },
            MatrixOp::OptionKey => Mutation::Option { key: value, value: "1".into() },
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GenerateEntry {
    id: Spanned<String>,
    title: String,
    doc: Spanned<String>,
    level: Level,
    /// `valid` (default) or `malformed`.
    #[serde(default)]
    space: Space,
    count: usize,
    #[serde(default)]
    token: TokenState,
    expect: Expectation,
}

/// Whether a mutation may name `field`: a documented field of the request, or one in PHP array
/// syntax (`PLACEMENT_OPTIONS[SITE_ID]`, as `php_array` sends it).
fn request_field(field: &str) -> bool {
    field_spec(field.split_once('[').map_or(field, |(base, _)| base)).is_some()
}

/// Parses one suite file into its cases and generated groups, in the file's order.
pub(super) fn parse(path: &str, text: &str, draw: &Draw) -> Result<Vec<Part>, SuiteError> {
    let at = |span: Range<usize>, message: String| {
        let before = &text[..span.start.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
        SuiteError::Invalid { path: path.to_owned(), line, column, message }
    };
    let file: SuiteFile =
        toml::from_str(text).map_err(|e| at(e.span().unwrap_or(0..0), e.message().trim().to_owned()))?;
    for entry in file.docs.values() {
        check_url(entry.url.get_ref()).map_err(|message| at(entry.url.span(), message))?;
    }
    let doc = |key: &Spanned<String>| match file.docs.get(key.get_ref()) {
        Some(entry) => Ok(Evidence {
            key: key.get_ref().clone(),
            kind: entry.kind,
            url: entry.url.get_ref().clone(),
            quote: entry.quote.clone(),
            note: entry.note.clone(),
        }),
        None => {
            let known = match file.docs.is_empty() {
                true => "it has none".to_owned(),
                false => file.docs.keys().map(String::as_str).collect::<Vec<_>>().join(", "),
            };
            Err(at(
                key.span(),
                format!(
                    "unknown doc `{}`; a suite file cites only its own [docs.KEY] tables (copy those you need \
                     from suites/landing_settings.toml), and this file's are: {known}",
                    key.get_ref()
                ),
            ))
        }
    };
    // A field a mutation names that the request does not have would leave the request as it was,
    // and the case would judge a valid request by an expectation written for a bent one.
    let check_field = |mutation: &Mutation, span: Range<usize>| match mutation.field() {
        Some(field) if !request_field(field) => {
            let known = FIELDS.iter().map(|f| f.name).collect::<Vec<_>>().join(", ");
            let what = match field {
                "" => "no field given (a matrix names them in `fields`)".to_owned(),
                field => format!("unknown field `{field}`"),
            };
            Err(at(span, format!("{what}; the fields of the request are: {known}")))
        }
        _ => Ok(()),
    };
    let mutations = |mutate: &[Spanned<Mutation>]| -> Result<Vec<Mutation>, SuiteError> {
        mutate.iter().map(|m| check_field(m.get_ref(), m.span()).map(|()| m.get_ref().clone())).collect()
    };
    let check_id = |id: &Spanned<String>, text: &str, seen: &[Part]| {
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c)) {
            return Err(at(id.span(), format!("case id `{text}` must be letters, digits and / _ . - only")));
        }
        if seen.iter().any(|p| p.stem() == text) {
            return Err(at(id.span(), format!("duplicate case id `{text}`")));
        }
        Ok(())
    };

    let family = match &file.header.placement {
        None => Family::Settings,
        Some(code) => Family::of(code.get_ref()).ok_or_else(|| {
            let known = Family::ALL.map(Family::code).join(", ");
            at(
                code.span(),
                format!("unknown placement `{}`; the placements the harness models are: {known}", code.get_ref()),
            )
        })?,
    };
    let documented = family.example();
    let legacy =
        Payload { application_scope: None, application_token: None, server_endpoint: None, ..documented.clone() };
    let base_of = |base: Base| match base {
        Base::Documented => &documented,
        Base::Legacy => &legacy,
    };
    let mut cases = Vec::new();
    for entry in &file.case {
        check_id(&entry.id, entry.id.get_ref(), &cases)?;
        let mutations = mutations(&entry.mutate)?;
        let base = base_of(entry.base);
        cases.push(Part::Case(Case {
            id: entry.id.get_ref().clone(),
            title: entry.title.clone(),
            level: entry.level,
            evidence: doc(&entry.doc)?,
            expect: entry.expect,
            token: entry.token,
            payload: catalog_payload(entry.id.get_ref(), base),
            mutations,
            origin: None,
            kind: CaseKind::Placement,
        }));
    }
    for matrix in &file.matrix {
        let doc = doc(&matrix.doc)?;
        let before: Vec<Mutation> = mutations(&matrix.mutate)?;
        // Without `fields`, the operator gets an empty one: fine for `method`, refused below
        // for an operator that needs a field.
        let fields = match matrix.fields.is_empty() {
            true => vec![(String::new(), matrix.id.span())],
            false => matrix.fields.iter().map(|f| (f.get_ref().clone(), f.span())).collect(),
        };
        for (field, span) in &fields {
            for (name, value) in &matrix.values {
                let fill = |template: &str| template.replace("{field}", field).replace("{name}", name);
                let id = fill(matrix.id.get_ref());
                check_id(&matrix.id, &id, &cases)?;
                let mutation = matrix.op.mutation(field, value).map_err(|m| at(matrix.id.span(), m))?;
                check_field(&mutation, span.clone())?;
                let mut mutations = before.clone();
                mutations.push(mutation);
                cases.push(Part::Case(Case {
                    title: fill(&matrix.title),
                    level: matrix.level,
                    evidence: doc.clone(),
                    expect: matrix.expect,
                    token: matrix.token,
                    payload: catalog_payload(&id, base_of(matrix.base)),
                    mutations,
                    id,
                    origin: None,
                    kind: CaseKind::Placement,
                }));
            }
        }
    }
    for group in &file.generate {
        check_id(&group.id, group.id.get_ref(), &cases)?;
        let doc = doc(&group.doc)?;
        let template = Case {
            id: group.id.get_ref().clone(),
            title: group.title.clone(),
            level: group.level,
            evidence: doc,
            expect: group.expect,
            token: group.token,
            // Each draw brings its own.
            payload: documented.clone(),
            mutations: Vec::new(),
            origin: None,
            kind: CaseKind::Placement,
        };
        cases.push(Part::Group(Group::new(template, group.space, draw, draw.count.unwrap_or(group.count))));
    }
    let steps = crate::journey::cases(&file.journey, family, &cases, doc, at)?;
    cases.extend(steps.into_iter().map(Part::Case));
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAW: Draw = Draw { seed: 1, count: None, replay: Vec::new() };

    fn error(text: &str) -> String {
        parse("t.toml", text, &DRAW).unwrap_err().to_string()
    }

    fn first(text: &str) -> Case {
        let parts = parse("t.toml", text, &DRAW).unwrap();
        parts[0].placement(parts[0].stem()).expect("a named case")
    }

    const HEAD: &str =
        "[suite]\nname = \"t\"\n[docs.d]\nkind = \"documentation\"\nurl = \"https://example.org/d\"\nquote = \"q\"\n";

    const CASE: &str = "[[case]]\nid = \"a\"\ntitle = \"t\"\ndoc = \"d\"\nlevel = \"must\"\nexpect = \"accept\"\n";

    #[test]
    fn a_typo_names_file_line_column_and_the_known_keys() {
        let message = error(&format!("{HEAD}[[case]]\nid = \"a\"\ntitel = \"x\"\n"));
        assert!(message.starts_with("t.toml:9:1: unknown field `titel`, expected one of `id`, `title`"), "{message}");
    }

    #[test]
    fn duplicate_ids_unknown_docs_and_mutations_are_refused() {
        assert!(error(&format!("{HEAD}{CASE}{CASE}")).starts_with("t.toml:14:6: duplicate case id `a`"));
        let unknown_doc = CASE.replace("doc = \"d\"", "doc = \"nope\"");
        let message = error(&format!("{HEAD}{unknown_doc}"));
        assert!(message.contains("unknown doc `nope`; a suite file cites only its own [docs.KEY] tables"), "{message}");
        assert!(message.ends_with("and this file's are: d"), "{message}");
        let without_docs = error(&format!("[suite]\nname = \"t\"\n{unknown_doc}"));
        assert!(
            without_docs
                .ends_with("(copy those you need from suites/landing_settings.toml), and this file's are: it has none"),
            "{without_docs}"
        );
        let bad_mutation = CASE.replace("expect", "mutate = [{ delete = \"LANG\" }]\nexpect");
        assert!(
            error(&format!("{HEAD}{bad_mutation}"))
                .contains("unknown variant `delete`, expected one of `remove`, `set`")
        );
        let bad_expect = CASE.replace("\"accept\"", "\"pass\"");
        assert!(error(&format!("{HEAD}{bad_expect}")).contains("expected one of `accept`, `reject`, `tolerate`"));
    }

    /// A mutation of a field the request does not have would fire the valid request unchanged.
    #[test]
    fn a_mutation_naming_a_field_the_request_lacks_is_refused_with_the_known_fields() {
        let case = |mutate: &str| CASE.replace("expect", &format!("mutate = [{mutate}]\nexpect"));
        let message = error(&format!("{HEAD}{}", case("{ remove = \"LANGG\" }")));
        assert!(
            message.starts_with(
                "t.toml:12:11: unknown field `LANGG`; the fields of the request are: DOMAIN, PROTOCOL, LANG,"
            ),
            "{message}"
        );
        let set =
            error(&format!("{HEAD}{}", case("{ remove = \"LANG\" }, { set = { field = \"lang\", value = \"x\" } }")));
        assert!(set.starts_with("t.toml:12:32: unknown field `lang`"), "{set}");
        let matrix =
            "[[matrix]]\nid = \"m/{field}\"\ntitle = \"t\"\ndoc = \"d\"\nlevel = \"must\"\nexpect = \"accept\"\n";
        let values = "[matrix.values]\nx = \"1\"\n";
        let typo = error(&format!("{HEAD}{matrix}fields = [\"LANG\", \"PLACMENT\"]\n{values}"));
        assert!(typo.starts_with("t.toml:13:19: unknown field `PLACMENT`"), "{typo}");
        let no_fields = error(&format!("{HEAD}{matrix}op = \"move\"\n{values}"));
        assert!(
            no_fields.starts_with("t.toml:8:6: no field given (a matrix names them in `fields`); the fields"),
            "{no_fields}"
        );
        // What the request has: documented fields, PHP array names of them; option keys and
        // header names are not fields; a method needs none.
        let fine = case(
            "{ php_array = \"PLACEMENT_OPTIONS\" }, { remove = \"PLACEMENT_OPTIONS[LID]\" }, \
             { option = { key = \"NEW_KEY\", value = \"1\" } }, { header = { name = \"X-Any\", value = \"1\" } }",
        );
        let cases = parse("t.toml", &format!("{HEAD}{fine}{matrix}op = \"method\"\n{values}"), &DRAW).unwrap();
        assert_eq!(cases.len(), 2);
    }

    /// `[suite] placement` names the family whose documented example every case starts from.
    #[test]
    fn a_suite_names_the_placement_its_cases_start_from() {
        let with = |code: &str| HEAD.replace("name = \"t\"\n", &format!("name = \"t\"\nplacement = \"{code}\"\n"));
        let case = first(&format!("{}{CASE}", with("LANDING_BLOCK_*")));
        assert_eq!((case.payload.placement.as_str(), case.family()), ("LANDING_BLOCK_*", Family::Block));
        let options = case.payload.placement_options.expect("the example's options");
        assert_eq!(options.get("CODE"), Some("43.4.cover_with_price_text_button_bgimg"));
        assert_eq!(first(&format!("{HEAD}{CASE}")).family(), Family::Settings);
        let unknown = error(&with("LEFT_MENU"));
        assert!(
            unknown.starts_with(
                "t.toml:3:13: unknown placement `LEFT_MENU`; the placements the harness models are: LANDING_SETTINGS, LANDING_BLOCK_*"
            ),
            "{unknown}"
        );
    }

    #[test]
    fn levels_are_required_and_named() {
        let case = first(&format!("{HEAD}{CASE}"));
        assert_eq!((case.level, case.evidence.kind), (Level::Must, EvidenceKind::Documentation));
        let missing = error(&format!("{HEAD}{}", CASE.replace("level = \"must\"\n", "")));
        assert!(missing.starts_with("t.toml:7:1: missing field `level`"), "{missing}");
        let unknown = error(&format!("{HEAD}{}", CASE.replace("\"must\"", "\"may\"")));
        assert!(unknown.starts_with("t.toml:11:9: unknown variant `may`, expected `must` or `should`"), "{unknown}");
        let matrix = "[[matrix]]\nid = \"m/{name}\"\ntitle = \"t\"\ndoc = \"d\"\nexpect = \"accept\"\n[matrix.values]\nx = \"1\"\n";
        assert!(error(&format!("{HEAD}{matrix}")).contains("missing field `level`"));
    }

    #[test]
    fn evidence_has_a_known_kind_and_a_url_a_reader_can_open() {
        let unknown = error(&format!("{}{CASE}", HEAD.replace("\"documentation\"", "\"blog\"")));
        assert!(
            unknown.starts_with(
                "t.toml:4:8: unknown variant `blog`, expected one of `documentation`, `product-source`, `sdk-source`, `specification`, `inference`"
            ),
            "{unknown}"
        );
        for (url, says) in [
            ("../shared/PROTOCOL.md", "names notes outside the repository"),
            ("shared/seed/landing-settings-placement.txt", "names notes outside the repository"),
            ("http://example.org/d", "neither an https URL nor a path in the repository"),
            ("/work/notes/x.md", "neither an https URL nor a path in the repository"),
        ] {
            let message = error(&HEAD.replace("https://example.org/d", url));
            assert!(message.starts_with("t.toml:5:7: "), "{url}: {message}");
            assert!(message.contains(says) && message.contains("give a public https:// URL"), "{url}: {message}");
        }
        let note = HEAD.replace("quote = \"q\"", "quote = \"q\"\nnote = \"why\"");
        let inference =
            note.replace("\"documentation\"", "\"inference\"").replace("https://example.org/d", "docs/protocol.md#x");
        let case = first(&format!("{inference}{CASE}"));
        assert_eq!(case.evidence.note.as_deref(), Some("why"));
        assert_eq!(case.evidence.url, "docs/protocol.md#x");
    }
}
