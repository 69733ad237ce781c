//! The catalogue of error codes (SPEC §8): every `code` a response can carry and its status, in
//! one table. `openapi.yaml` lists the same codes; a test keeps the two equal.

use http::StatusCode;

macro_rules! catalogue {
    ($($(#[$doc:meta])* $variant:ident = $code:literal => $status:ident,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The `code` field of the JSON error.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

catalogue! {
    InvalidBody = "invalid_body" => BAD_REQUEST,
    InvalidQuery = "invalid_query" => BAD_REQUEST,
    InvalidCursor = "invalid_cursor" => BAD_REQUEST,
    InvalidLimit = "invalid_limit" => BAD_REQUEST,
    InvalidPublicId = "invalid_public_id" => BAD_REQUEST,
    InvalidFolder = "invalid_folder" => BAD_REQUEST,
    InvalidVisibility = "invalid_visibility" => BAD_REQUEST,
    InvalidTags = "invalid_tags" => BAD_REQUEST,
    InvalidOverwrite = "invalid_overwrite" => BAD_REQUEST,
    InvalidFileName = "invalid_file_name" => BAD_REQUEST,
    InvalidMultipart = "invalid_multipart" => BAD_REQUEST,
    MissingFile = "missing_file" => BAD_REQUEST,
    EmptyFile = "empty_file" => BAD_REQUEST,
    /// The bytes are of a supported format but cannot be decoded.
    InvalidImage = "invalid_image" => BAD_REQUEST,
    InvalidTransform = "invalid_transform" => BAD_REQUEST,
    InvalidTtl = "invalid_ttl" => BAD_REQUEST,
    InvalidEmail = "invalid_email" => BAD_REQUEST,
    InvalidPassword = "invalid_password" => BAD_REQUEST,
    InvalidRole = "invalid_role" => BAD_REQUEST,
    InvalidName = "invalid_name" => BAD_REQUEST,
    InvalidPreset = "invalid_preset" => BAD_REQUEST,
    InvalidFocalPoint = "invalid_focal_point" => BAD_REQUEST,
    Unauthorized = "unauthorized" => UNAUTHORIZED,
    InvalidCredentials = "invalid_credentials" => UNAUTHORIZED,
    InvalidSignature = "invalid_signature" => UNAUTHORIZED,
    SignatureExpired = "signature_expired" => UNAUTHORIZED,
    Forbidden = "forbidden" => FORBIDDEN,
    CsrfRejected = "csrf_rejected" => FORBIDDEN,
    SessionRequired = "session_required" => FORBIDDEN,
    /// `IMGCLOUD_STRICT_TRANSFORMS`: an anonymous unsigned delivery asked for a transform.
    TransformNotAllowed = "transform_not_allowed" => FORBIDDEN,
    NotFound = "not_found" => NOT_FOUND,
    DirectUploadUnavailable = "direct_upload_unavailable" => NOT_FOUND,
    MethodNotAllowed = "method_not_allowed" => METHOD_NOT_ALLOWED,
    /// The request body sent nothing for `IMGCLOUD_BODY_TIMEOUT_SECONDS`; the connection closes.
    RequestTimeout = "request_timeout" => REQUEST_TIMEOUT,
    AlreadyExists = "already_exists" => CONFLICT,
    AssetChanged = "asset_changed" => CONFLICT,
    EmailTaken = "email_taken" => CONFLICT,
    LastAdmin = "last_admin" => CONFLICT,
    BodyTooLarge = "body_too_large" => PAYLOAD_TOO_LARGE,
    FileTooLarge = "file_too_large" => PAYLOAD_TOO_LARGE,
    ImageTooLarge = "image_too_large" => PAYLOAD_TOO_LARGE,
    UnsupportedMediaType = "unsupported_media_type" => UNSUPPORTED_MEDIA_TYPE,
    /// Well-formed, but more work than a request may take (SPEC §12).
    RenderTooLarge = "render_too_large" => UNPROCESSABLE_ENTITY,
    ImageUnreadable = "image_unreadable" => UNPROCESSABLE_ENTITY,
    RateLimited = "rate_limited" => TOO_MANY_REQUESTS,
    /// The render queue or the uploads in flight are full: a retry soon will likely succeed.
    Busy = "busy" => SERVICE_UNAVAILABLE,
    /// `GET /readyz`: a store does not answer.
    NotReady = "not_ready" => SERVICE_UNAVAILABLE,
    InternalError = "internal_error" => INTERNAL_SERVER_ERROR,
}

impl ErrorCode {
    /// This code with its public sentence.
    pub fn with(self, message: impl Into<String>) -> super::AppError {
        super::AppError::new(self, message)
    }
}

/// A value refused by a domain `parse`: which rule it broke, as a code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: ErrorCode,
    pub message: String,
}

impl Invalid {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_exactly_the_catalogue() {
        let document = include_str!("../../../openapi.yaml");
        let line = document
            .lines()
            .find_map(|l| l.trim().strip_prefix("code: {type: string, enum: ["))
            .expect("the Error schema's code enum");
        let listed: Vec<&str> = line.split(']').next().unwrap_or_default().split(", ").collect();
        let ours: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, ours);
        let statuses = document
            .lines()
            .find_map(|l| l.trim().strip_prefix("x-status: {"))
            .expect("the Error schema's x-status map");
        let statuses: Vec<String> = statuses.trim_end_matches('}').split(", ").map(str::to_owned).collect();
        let ours: Vec<String> =
            ErrorCode::ALL.iter().map(|c| format!("{}: {}", c.as_str(), c.status().as_u16())).collect();
        assert_eq!(statuses, ours);
    }

    #[test]
    fn the_sdks_list_exactly_the_catalogue() {
        let quoted = |text: &str, quote: char| -> Vec<String> {
            text.split(quote).skip(1).step_by(2).map(str::to_owned).collect()
        };
        let node = include_str!("../../../sdks/node/index.d.ts");
        let node = node.split("export type ErrorCode =").nth(1).and_then(|t| t.split(';').next()).unwrap();
        let python = include_str!("../../../sdks/python/src/cloudimg/_types.py");
        let python = python.split("ErrorCode = Literal[").nth(1).and_then(|t| t.split(']').next()).unwrap();
        let mut ours: Vec<String> = ErrorCode::ALL.iter().map(|c| c.as_str().to_owned()).collect();
        ours.extend(["network_error".to_owned(), "timeout".to_owned()]);
        assert_eq!(quoted(node, '\''), ours, "sdks/node/index.d.ts");
        assert_eq!(quoted(python, '"'), ours, "sdks/python/src/cloudimg/_types.py");
    }

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(code.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code:?}");
            assert!(seen.insert(code.as_str()), "{code:?} twice");
        }
    }
}
