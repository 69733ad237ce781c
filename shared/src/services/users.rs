//! Accounts (SPEC §2–3): admins create, change and delete users; the store refuses to leave the
//! product without an enabled admin. An API key acts for its owner, but a leaked one must not
//! become a dashboard session: with a key, an admin cannot set an existing account's password nor
//! grant the admin role, since either lets the key's holder sign in as an admin and mint keys.

use crate::{
    app::{new_user_id, App},
    auth::{Principal, Via},
    clock::now_ms,
    domain::{password, Email, Role},
    error::{AppError, AppResult, ErrorCode},
    store::{Created, UserRecord, UserRefusal, UserUpdate},
};

/// A new account.
pub struct NewUser {
    pub email: Email,
    pub password: String,
    pub role: Role,
    pub name: Option<String>,
}

/// What a change sets; `None` leaves a field as it is (`name: Some(None)` clears the name).
#[derive(Default)]
pub struct Change {
    pub name: Option<Option<String>>,
    pub role: Option<Role>,
    pub password: Option<String>,
    pub disabled: Option<bool>,
}

fn session_required(principal: &Principal, what: &str) -> AppResult<()> {
    match principal.via {
        Via::Session { .. } => Ok(()),
        Via::ApiKey { .. } => Err(ErrorCode::SessionRequired
            .with(format!("{what} needs an admin's dashboard session; API keys cannot do it"))),
    }
}

pub async fn create(app: &App, admin: &Principal, new: NewUser) -> AppResult<UserRecord> {
    if new.role == Role::Admin {
        session_required(admin, "creating an admin")?;
    }
    password::check_policy(&new.password)?;
    let user = UserRecord {
        id: new_user_id(),
        email: new.email.0,
        name: new.name,
        role: new.role,
        disabled: false,
        password_hash: app.passwords.hash(new.password).await,
        created_at: now_ms(),
    };
    match app.meta.create_user(&user).await? {
        Created::Created => Ok(user),
        Created::AlreadyExists => Err(ErrorCode::EmailTaken.with("a user with this email exists")),
    }
}

pub async fn update(app: &App, admin: &Principal, id: &str, change: Change) -> AppResult<UserRecord> {
    if change.password.is_some() {
        if id == admin.user.id {
            return Err(ErrorCode::Forbidden
                .with("change your own password with POST /v1/auth/change-password and your current password"));
        }
        session_required(admin, "setting a password")?;
        password::check_policy(change.password.as_deref().unwrap_or_default())?;
    }
    if change.role == Some(Role::Admin) {
        session_required(admin, "granting the admin role")?;
    }
    let password_hash = match change.password {
        Some(p) => Some(app.passwords.hash(p).await),
        None => None,
    };
    let update = UserUpdate { name: change.name, role: change.role, disabled: change.disabled, password_hash };
    app.meta.update_user(id, &update, None).await?.map_err(refused)
}

pub async fn delete(app: &App, id: &str) -> AppResult<()> {
    app.meta.delete_user(id).await?.map_err(refused)
}

fn refused(refusal: UserRefusal) -> AppError {
    match refusal {
        UserRefusal::NotFound => ErrorCode::NotFound.with("no such user"),
        UserRefusal::LastAdmin => {
            ErrorCode::LastAdmin.with("the last enabled admin cannot be removed, demoted or disabled")
        }
    }
}
