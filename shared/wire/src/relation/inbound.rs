//! Parsing and validation of an inbound collaboration message (partners.md §1.3, §1.9),
//! from the raw body bytes.

use busgate_domain::cases::model::{MAX_ATTRIBUTES_BYTES, MAX_ID_CHARS};
use busgate_domain::cases::{is_order_id, Attributes, CaseError, InboundMessage, RelationConfig, RelationType};
use busgate_json::{member, Node, Value};
use serde_json::Map;

/// Deepest nesting of a message (attributes as an object need 2).
const MAX_DEPTH: usize = 32;

/// Fields of §1.3 (anything else is accepted and logged).
const KNOWN_FIELDS: [&str; 8] = ["case_id", "relation_type", "relation_case_id", "operator", "category_id", "order_id", "attributes", "attribute_s"];

/// Required fields, in the order they are reported.
const REQUIRED: [&str; 4] = ["case_id", "relation_type", "operator", "order_id"];

/// String fields (ids and names): a JSON number there is refused, so that a 17-digit id is
/// never rounded.
const STRING_FIELDS: [&str; 6] = ["case_id", "relation_type", "relation_case_id", "operator", "category_id", "order_id"];

/// Parses and validates a body. Order: size, JSON, required fields, JSON types, enum,
/// lengths and formats, attributes. The first problem found is the answer.
pub fn parse_inbound(body: &[u8], cfg: &RelationConfig) -> Result<InboundMessage, CaseError> {
    if body.len() > cfg.max_body_bytes {
        return Err(CaseError::TooLarge(format!("body exceeds {} bytes", cfg.max_body_bytes)));
    }
    // The one strict intake: a repeated key is refused (which of two values would be meant?).
    let root = busgate_json::parse(body, MAX_DEPTH).map_err(|e| CaseError::MalformedJson(e.to_string()))?;
    if let Some(d) = root.first_duplicate() {
        return Err(CaseError::MalformedJson(format!("{}: duplicate key (line {})", d.path, d.line)));
    }
    let Value::Object(members) = &root.value else {
        return Err(CaseError::MalformedJson("the body must be a JSON object".into()));
    };
    let get = |name: &str| member(members, name).map(|n| &n.value);

    // Required: present, not null, and (if a string) not blank.
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|f| match get(f) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        })
        .collect();
    if !missing.is_empty() {
        return Err(CaseError::MissingField(missing.join(", ")));
    }
    for f in STRING_FIELDS {
        match get(f) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => {
                return Err(CaseError::InvalidFormat(format!("{f} must be a string (got {})", other.kind())));
            }
        }
    }
    let text = |f: &str| -> Option<String> { get(f).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string) };

    let relation_type_raw = get("relation_type").and_then(Value::as_str).unwrap_or_default();
    let relation_type = RelationType::parse(relation_type_raw).ok_or_else(|| {
        let allowed: Vec<&str> = RelationType::ALL.iter().map(|t| t.as_str()).collect();
        CaseError::InvalidEnum(format!("relation_type \"{relation_type_raw}\" (allowed: {})", allowed.join(", ")))
    })?;

    let case_id = text("case_id").unwrap_or_default();
    let operator = text("operator").unwrap_or_default();
    let order_id = text("order_id").unwrap_or_default();
    let relation_case_id = text("relation_case_id");
    let category_id = text("category_id");

    for (name, v) in [
        ("case_id", Some(&case_id)),
        ("relation_case_id", relation_case_id.as_ref()),
        ("operator", Some(&operator)),
        ("category_id", category_id.as_ref()),
        ("order_id", Some(&order_id)),
    ] {
        if let Some(v) = v {
            if v.chars().count() > MAX_ID_CHARS {
                return Err(CaseError::InvalidFormat(format!("{name} longer than {MAX_ID_CHARS} characters")));
            }
        }
    }
    if cfg.numeric_order_id && !is_order_id(&order_id) {
        return Err(CaseError::InvalidFormat(format!("order_id must be 1 to 32 digits (got \"{order_id}\")")));
    }

    let a = parse_attributes(get("attributes"), "attributes")?;
    let b = parse_attributes(get("attribute_s"), "attribute_s")?;
    let attributes = match (a, b) {
        (Some(a), Some(b)) => {
            if a.object != b.object || a.text != b.text {
                return Err(CaseError::InvalidFormat("attributes and attribute_s disagree".into()));
            }
            Some(a)
        }
        (a, b) => a.or(b),
    };

    let unknown_fields: Vec<String> = members.iter().map(|(k, _)| k).filter(|k| !KNOWN_FIELDS.contains(&k.as_str())).cloned().collect();
    if !unknown_fields.is_empty() {
        tracing::info!(case_id = %case_id, fields = ?unknown_fields, "relation message with unknown fields (accepted)");
    }

    Ok(InboundMessage {
        case_id,
        relation_type,
        relation_case_id,
        operator,
        category_id,
        order_id,
        attributes,
        unknown_fields,
        canonical: busgate_json::canonical(&root),
    })
}

/// `attributes` / `attribute_s` in every shape Fliggy sends: an object, a string holding a
/// JSON object, or plain text. `null` and `""` are absent; anything else is refused.
fn parse_attributes(value: Option<&Value>, field: &str) -> Result<Option<Attributes>, CaseError> {
    let attrs = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => {
            let object = busgate_json::parse(s.as_bytes(), MAX_DEPTH)
                .ok()
                .filter(|n| n.first_duplicate().is_none())
                .and_then(|n| n.value.as_object().map(object));
            let text = if object.is_none() { Some(s.clone()) } else { None };
            Attributes { field: field.to_string(), raw: s.clone(), object, text }
        }
        Some(Value::Object(members)) => {
            let o = object(members);
            Attributes { field: field.to_string(), raw: serde_json::Value::Object(o.clone()).to_string(), object: Some(o), text: None }
        }
        Some(_) => return Err(CaseError::InvalidFormat(format!("{field} must be a string or object"))),
    };
    if attrs.raw.len() > MAX_ATTRIBUTES_BYTES {
        return Err(CaseError::InvalidFormat(format!("{field} longer than {MAX_ATTRIBUTES_BYTES} bytes")));
    }
    Ok(Some(attrs))
}

/// The attributes object as the domain keeps it. A number serde_json cannot hold (past f64)
/// is kept as its text.
fn to_serde(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(t) => t.parse::<serde_json::Number>().map_or_else(|_| serde_json::Value::String(t.clone()), serde_json::Value::Number),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => items.iter().map(|n| to_serde(&n.value)).collect(),
        Value::Object(members) => object(members).into(),
    }
}

fn object(members: &[(String, Node)]) -> Map<String, serde_json::Value> {
    members.iter().map(|(k, n)| (k.clone(), to_serde(&n.value))).collect()
}
