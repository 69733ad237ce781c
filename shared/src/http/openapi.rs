//! `GET /v1/openapi.json`: the repository's `openapi.yaml`, served as JSON.

use std::sync::OnceLock;

use axum::Json;
use serde_json::Value;

pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

pub async fn document() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(
        DOCUMENT
            .get_or_init(|| {
                serde_yaml_ng::from_str(OPENAPI_YAML).expect("openapi.yaml is valid YAML (checked by a test)")
            })
            .clone(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_parses_as_openapi_3_1() {
        let doc: serde_json::Value = serde_yaml_ng::from_str(super::OPENAPI_YAML).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"].as_object().is_some_and(|p| !p.is_empty()));
    }
}
