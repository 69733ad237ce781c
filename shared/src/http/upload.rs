//! `POST /v1/upload`: a streamed multipart form, checked as it arrives (413 the moment the file
//! passes the cap), identified by its bytes, fully decoded once, stored durably, then committed.

use std::sync::Arc;

use axum::{
    extract::{Path, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use bytes::{Bytes, BytesMut};
use multer::{Constraints, Multipart, SizeLimit};
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use super::{body::JsonBody, views};
use crate::{
    app::App,
    auth::{AnyAuth, Principal},
    domain::{Folder, PublicId, TagsInput, Visibility},
    error::{body_timed_out, AppError, AppResult, ErrorCode},
    limits::{too_many, Limit},
    secrets::{random_hex, sha256_hex},
    services::upload::{self, Committed, NewUpload},
    store::staging_key,
    telemetry::metrics,
};

/// Room for the form's text fields and part headers beside the file.
const FORM_OVERHEAD: u64 = 64 * 1024;
const MAX_TEXT_FIELD: usize = 4096;
const MAX_PARTS: usize = 16;

#[derive(Default)]
struct Form {
    file: Option<(Bytes, Option<String>)>,
    public_id: Option<String>,
    folder: Option<String>,
    /// Comma-separated in a form; a list or comma-separated in a direct upload's JSON.
    tags: Option<TagsInput>,
    visibility: Option<String>,
    overwrite: Option<bool>,
}

fn malformed(detail: impl std::fmt::Display) -> AppError {
    ErrorCode::InvalidMultipart.with(format!("malformed multipart body: {detail}"))
}

fn too_large(max: u64) -> AppError {
    ErrorCode::FileTooLarge.with(format!("the file is larger than the {max}-byte upload limit"))
}

fn multipart_error(e: multer::Error, max: u64) -> AppError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => too_large(max),
        e if body_timed_out(&e) => AppError::request_timeout(),
        other => malformed(other),
    }
}

/// Reads the form, stopping at the first part that breaks a rule.
async fn read_form(req: Request, max_file: u64) -> AppResult<Form> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or_default().trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return Err(
            ErrorCode::UnsupportedMediaType.with("upload with Content-Type: multipart/form-data and a file field")
        );
    }
    let boundary = multer::parse_boundary(content_type).map_err(|_| malformed("no boundary in Content-Type"))?;
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_file + FORM_OVERHEAD) {
        return Err(too_large(max_file));
    }
    let constraints = Constraints::new().size_limit(SizeLimit::new().whole_stream(max_file + FORM_OVERHEAD));
    let mut multipart = Multipart::with_constraints(req.into_body().into_data_stream(), boundary, constraints);

    let mut form = Form::default();
    let (mut tags_csv, mut overwrite) = (None, None);
    let mut parts = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| multipart_error(e, max_file))? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(malformed(format!("more than {MAX_PARTS} parts")));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if form.file.is_some() {
                return Err(malformed("the file field is sent twice"));
            }
            let file_name = field.file_name().map(str::to_owned);
            let mut data = BytesMut::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max_file))? {
                if (data.len() + chunk.len()) as u64 > max_file {
                    return Err(too_large(max_file));
                }
                data.extend_from_slice(&chunk);
            }
            form.file = Some((data.freeze(), file_name));
            continue;
        }
        let slot = match name.as_str() {
            "public_id" => &mut form.public_id,
            "folder" => &mut form.folder,
            "tags" => &mut tags_csv,
            "visibility" => &mut form.visibility,
            "overwrite" => &mut overwrite,
            other => return Err(malformed(format!("unknown field {other:?}"))),
        };
        if slot.is_some() {
            return Err(malformed(format!("the {name} field is sent twice")));
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max_file))? {
            value.extend_from_slice(&chunk);
            if value.len() > MAX_TEXT_FIELD {
                return Err(malformed(format!("the {name} field is longer than {MAX_TEXT_FIELD} bytes")));
            }
        }
        *slot = Some(String::from_utf8(value).map_err(|_| malformed(format!("the {name} field is not UTF-8")))?);
    }
    form.tags = tags_csv.map(TagsInput::Csv);
    form.overwrite = overwrite.as_deref().map(parse_overwrite).transpose()?;
    Ok(form)
}

/// The form's fields, validated before any image work.
fn new_upload(form: Form) -> AppResult<NewUpload> {
    let (bytes, file_name) = form.file.ok_or_else(|| ErrorCode::MissingFile.with("the file field is required"))?;
    check_file_name(file_name.as_deref())?;
    let folder = form.folder.as_deref().map(Folder::parse).transpose()?;
    let public_id = match form.public_id.as_deref() {
        Some(id) => PublicId::parse(id)?,
        None => PublicId::generate(folder.as_ref().unwrap_or(&Folder::default()), file_name.as_deref())?,
    };
    Ok(NewUpload {
        folder: folder.or_else(|| form.public_id.is_some().then(|| public_id.directory())),
        public_id,
        tags: form.tags.as_ref().map(TagsInput::parse).transpose()?,
        visibility: form.visibility.as_deref().map(Visibility::parse).transpose()?,
        overwrite: form.overwrite.unwrap_or(false),
        bytes,
        file_name,
    })
}

/// A form's `overwrite` field (a direct upload's JSON has a boolean).
fn parse_overwrite(value: &str) -> AppResult<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ErrorCode::InvalidOverwrite.with(format!("overwrite must be true or false, not {other:?}"))),
    }
}

fn check_file_name(name: Option<&str>) -> AppResult<()> {
    match name {
        Some(n) if n.len() > 255 || n.chars().any(char::is_control) => {
            Err(ErrorCode::InvalidFileName.with("the file name must be at most 255 bytes, without control characters"))
        }
        _ => Ok(()),
    }
}

pub async fn upload(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    req: Request,
) -> AppResult<(StatusCode, Json<Value>)> {
    // Counted before a byte of the body is read: a refused upload writes nothing.
    app.limits.uploads.check(&principal.user.id).await.map_err(|wait| too_many(wait, Limit::Uploads))?;
    let form = read_form(req, app.config.max_upload_bytes).await?;
    commit(&app, &principal, form).await
}

/// Around `POST /v1/upload`: the upload holds one of `IMGCLOUD_UPLOADS_IN_FLIGHT` places until it is
/// answered; with none free, 503 `busy` (`Retry-After: 1`) before a byte of the body is read or a
/// rate limit is counted, so that stalled or slow uploads cannot pile up their buffers.
pub async fn in_flight(State(places): State<Arc<Semaphore>>, req: Request, next: Next) -> Response {
    match places.try_acquire_owned() {
        Ok(_place) => next.run(req).await,
        Err(_) => ErrorCode::Busy.with("too many uploads are in progress; retry shortly").into_response(),
    }
}

/// Counts an answered upload in the metrics, by its outcome.
pub async fn counted(response: Response) -> Response {
    metrics::upload(response.status());
    response
}

/// How long a direct upload's form stays valid.
const DIRECT_UPLOAD_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Where a principal's direct upload waits: named by the caller's identity too, so that nobody
/// else can register it.
fn staged(principal: &Principal, upload_id: &str) -> String {
    staging_key(&format!("{}-{upload_id}", &sha256_hex(principal.user.id.as_bytes())[..16]))
}

/// `POST /v1/uploads`: a presigned form to send a large original straight to the store (past
/// API Gateway's payload limit); `POST /v1/uploads/{upload_id}/complete` registers it.
pub async fn start_direct(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
) -> AppResult<(StatusCode, Json<Value>)> {
    app.limits.uploads.check(&principal.user.id).await.map_err(|wait| too_many(wait, Limit::Uploads))?;
    let upload_id = random_hex(16);
    let max_bytes = app.config.max_upload_bytes;
    let form = app.blobs.presigned_post(&staged(&principal, &upload_id), max_bytes, DIRECT_UPLOAD_TTL).await?;
    let form = form.ok_or_else(|| {
        ErrorCode::DirectUploadUnavailable
            .with("direct uploads need the aws backend; POST /v1/upload takes files up to the upload limit here")
    })?;
    let fields: serde_json::Map<String, Value> = form.fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "upload_id": upload_id,
            "url": form.url,
            "fields": fields,
            "expires_at": form.expires_at,
            "max_bytes": max_bytes,
        })),
    ))
}

/// The metadata of a direct upload, sent when it is registered (the same fields as the form).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    public_id: Option<String>,
    folder: Option<String>,
    tags: Option<TagsInput>,
    visibility: Option<String>,
    overwrite: Option<bool>,
    filename: Option<String>,
}

pub async fn complete_direct(
    State(app): State<Arc<App>>,
    AnyAuth(principal): AnyAuth,
    Path(upload_id): Path<String>,
    JsonBody(registration): JsonBody<Registration>,
) -> AppResult<(StatusCode, Json<Value>)> {
    let no_such = || ErrorCode::NotFound.with("no staged upload with this id (never sent, expired, or registered)");
    if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(no_such());
    }
    let key = staged(&principal, &upload_id);
    let size = app.blobs.size(&key).await?.ok_or_else(no_such)?;
    if size > app.config.max_upload_bytes {
        app.blobs.delete_tree(&key).await?;
        return Err(too_large(app.config.max_upload_bytes));
    }
    let bytes = app.blobs.get(&key).await?.ok_or_else(no_such)?;
    let form = Form {
        file: Some((bytes, registration.filename)),
        public_id: registration.public_id,
        folder: registration.folder,
        tags: registration.tags,
        visibility: registration.visibility,
        overwrite: registration.overwrite,
    };
    let committed = commit(&app, &principal, form).await?;
    // Registered: the staged copy is no longer needed (on failure it stays for a corrected retry,
    // until the bucket's lifecycle rule removes it).
    app.blobs.delete_tree(&key).await?;
    Ok(committed)
}

/// Validates and commits one upload (the form's or a staged one).
async fn commit(app: &Arc<App>, principal: &Principal, form: Form) -> AppResult<(StatusCode, Json<Value>)> {
    let (status, asset) = match upload::commit(app, principal, new_upload(form)?).await? {
        Committed::Created(asset) => (StatusCode::CREATED, asset),
        Committed::Replaced(asset) => (StatusCode::OK, asset),
    };
    Ok((status, Json(json!({ "asset": views::asset(&app.config, &asset) }))))
}
