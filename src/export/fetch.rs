//! Reading every listed contact (`getcontact`, then `getpicture`), for export and `check`.

use futures::stream::{self, StreamExt};

use crate::client::{ApiError, WithWarnings};
use crate::progress::{in_phase, Phase, Progress};
use crate::remote::Remote;
use crate::wire::{ContactDetail, ErrorCode, Picture};

/// One contact as read from the account.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub id: String,
    pub detail: ContactDetail,
    pub picture: Option<Picture>,
    /// What reading it had to repair (an answer not valid in its encoding, …): exported, but the
    /// user is told.
    pub warnings: Vec<String>,
}

/// Why a listed contact was not read.
#[derive(Debug, Clone)]
pub struct FetchProblem {
    pub id: String,
    pub message: String,
    /// The read answered "data not found". Export still counts it as an error and keeps the
    /// contact's card (listed yet unreadable is conflicting evidence); `check` skips it.
    pub gone: bool,
}

impl FetchProblem {
    fn new(id: String, error: &ApiError) -> FetchProblem {
        let gone = error.service_code() == Some(ErrorCode::DataNotFound);
        FetchProblem { id, message: error.redacted(), gone }
    }
}

/// Why reading stopped before every contact was read.
#[derive(Debug)]
pub enum FetchStop<E> {
    /// A fatal API error.
    Api(ApiError),
    /// What took the contacts as they were read failed.
    Sink(E),
}

/// Reads every id (getcontact, then getpicture when `photos`), `concurrency` at a time, each a
/// step of the [`Phase::Fetching`] reported to `progress`, into a `Vec`. A fatal error stops
/// everything; others are returned per contact.
pub async fn fetch_all<R: Remote>(
    remote: &R,
    ids: Vec<String>,
    photos: bool,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<(Vec<Fetched>, Vec<FetchProblem>), ApiError> {
    let mut fetched = Vec::new();
    let push = |f| {
        fetched.push(f);
        Ok::<(), std::convert::Infallible>(())
    };
    match fetch_each(remote, ids.into_iter(), photos, concurrency, progress, push).await {
        Ok(problems) => Ok((fetched, problems)),
        Err(FetchStop::Api(e)) => Err(e),
        Err(FetchStop::Sink(never)) => match never {},
    }
}

/// [`fetch_all`], each contact handed to `read` as it arrives (in no particular order) rather
/// than kept: what export uses, so that memory does not grow with the account.
pub async fn fetch_each<R: Remote, E>(
    remote: &R,
    ids: impl ExactSizeIterator<Item = String>,
    photos: bool,
    concurrency: usize,
    progress: &dyn Progress,
    mut read: impl FnMut(Fetched) -> Result<(), E>,
) -> Result<Vec<FetchProblem>, FetchStop<E>> {
    let total = Some(ids.len() as u64);
    in_phase(progress, Phase::Fetching, total, async move {
        let reads = ids.map(|id| async move {
            let read = read_one(remote, &id, photos).await;
            progress.advance(1);
            (id, read)
        });
        let mut results = stream::iter(reads).buffer_unordered(concurrency.max(1));
        let mut problems = Vec::new();
        while let Some((id, answer)) = results.next().await {
            match answer {
                Ok((WithWarnings { value: mut detail, warnings }, picture)) => {
                    if detail.id.is_empty() {
                        detail.id = id.clone();
                    }
                    read(Fetched { id, detail, picture, warnings }).map_err(FetchStop::Sink)?;
                }
                Err(e) if e.is_fatal() => return Err(FetchStop::Api(e)),
                Err(e) => problems.push(FetchProblem::new(id, &e)),
            }
        }
        Ok(problems)
    })
    .await
}

async fn read_one<R: Remote>(
    remote: &R,
    id: &str,
    photos: bool,
) -> Result<(WithWarnings<ContactDetail>, Option<Picture>), ApiError> {
    let detail = remote.read_contact(id).await?;
    let picture = if photos { remote.get_picture(id).await? } else { None };
    Ok((detail, picture))
}
