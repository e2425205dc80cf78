//! Parsing and validation of an inbound collaboration message (partners.md §1.3, §1.9),
//! from the raw body bytes.

use busgate_domain::cases::model::{MAX_ATTRIBUTES_BYTES, MAX_ID_CHARS};
use busgate_domain::cases::{is_order_id, Attributes, CaseError, InboundMessage, RelationConfig, RelationType};
use serde_json::{Map, Value};

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
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| CaseError::MalformedJson(format!("{} at line {} column {}", describe_json_error(&e), e.line(), e.column())))?;
    let Value::Object(obj) = &value else {
        return Err(CaseError::MalformedJson("the body must be a JSON object".into()));
    };

    // Required: present, not null, and (if a string) not blank.
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|f| match obj.get(*f) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.trim().is_empty(),
            Some(_) => false,
        })
        .collect();
    if !missing.is_empty() {
        return Err(CaseError::MissingField(missing.join(", ")));
    }
    for f in STRING_FIELDS {
        match obj.get(f) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => {
                return Err(CaseError::InvalidFormat(format!("{f} must be a string (got {})", json_type(other))));
            }
        }
    }
    let text = |f: &str| -> Option<String> { obj.get(f).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string) };

    let relation_type_raw = obj.get("relation_type").and_then(Value::as_str).unwrap_or_default();
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

    let a = parse_attributes(obj, "attributes")?;
    let b = parse_attributes(obj, "attribute_s")?;
    let attributes = match (a, b) {
        (Some(a), Some(b)) => {
            if a.object != b.object || a.text != b.text {
                return Err(CaseError::InvalidFormat("attributes and attribute_s disagree".into()));
            }
            Some(a)
        }
        (a, b) => a.or(b),
    };

    let unknown_fields: Vec<String> = obj.keys().filter(|k| !KNOWN_FIELDS.contains(&k.as_str())).cloned().collect();
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
        canonical: canonical_json(&value),
    })
}

/// `attributes` / `attribute_s` in every shape Fliggy sends: an object, a string holding a
/// JSON object, or plain text. `null` and `""` are absent; anything else is refused.
fn parse_attributes(obj: &Map<String, Value>, field: &str) -> Result<Option<Attributes>, CaseError> {
    let attrs = match obj.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => {
            let object = match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(o)) => Some(o),
                _ => None,
            };
            let text = if object.is_none() { Some(s.clone()) } else { None };
            Attributes { field: field.to_string(), raw: s.clone(), object, text }
        }
        Some(Value::Object(o)) => {
            Attributes { field: field.to_string(), raw: Value::Object(o.clone()).to_string(), object: Some(o.clone()), text: None }
        }
        Some(_) => return Err(CaseError::InvalidFormat(format!("{field} must be a string or object"))),
    };
    if attrs.raw.len() > MAX_ATTRIBUTES_BYTES {
        return Err(CaseError::InvalidFormat(format!("{field} longer than {MAX_ATTRIBUTES_BYTES} bytes")));
    }
    Ok(Some(attrs))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn describe_json_error(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unexpected end of input",
        Category::Syntax => "syntax error",
        Category::Data => "invalid data",
        Category::Io => "read error",
    }
}

/// Canonical JSON: object keys sorted (by UTF-16 code units, as RFC 8785), no whitespace,
/// strings escaped by serde_json, numbers as serde_json writes them.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(&m[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}
