//! [`Bounded`]: an [`ObjectStore`] whose every request ends within a stated time, answered
//! or not.
//!
//! `object_store`'s own limits do not bound a request whose server never answers: its
//! retry budget (`RetryConfig::retry_timeout`) only decides whether to try again *after* a
//! failure, and its client timeout applies to each attempt alone. A path that accepts a
//! `PUT` and then swallows every packet (a black-holed route, a stuck load balancer) kept a
//! checkpoint waiting for the whole client timeout while rows piled up, and a lease renewal
//! for as long as the lease was valid. This wrapper puts one deadline on each call,
//! attempts and retries included, and turns a missed one into an error that says so:
//!
//! | call | bound |
//! |---|---|
//! | a request without a body to send or receive (list page, head, delete, small get) | [`Limits::request`] (15 s by default) |
//! | a `PUT`, an uploaded part, a `GET` body | that, plus [`Limits::per_mib`] (1 s) per MiB of the body |
//! | completing a multipart upload | that, counted over all its parts |
//! | a server-side copy (only files above 64 MiB are copied) | [`Limits::copy`] (5 min) |
//!
//! A listing is bounded page by page (each next page within [`Limits::request`]); a `GET`
//! body must have arrived whole by its deadline. A dropped request closes its connection,
//! so a black-holed connection is never reused.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, UploadPart,
};
use tokio::time::Instant;

/// How long each call to the store may take, answered or not, retries included
/// ([`S3Config::build`](super::S3Config::build) wraps its store in them): a request without
/// a body [`request`](Self::request); a `PUT`, an uploaded part or a `GET` body that plus
/// [`per_mib`](Self::per_mib) per MiB (a multipart completion counts all its parts); each
/// page of a listing [`request`](Self::request); a server-side copy [`copy`](Self::copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A request with no body to move, and the base of one that has.
    pub request: Duration,
    /// Added per MiB of a body sent or received.
    pub per_mib: Duration,
    /// A server-side copy.
    pub copy: Duration,
}

impl Default for Limits {
    /// 15 s per request, plus 1 s per MiB of its body; 5 min for a copy.
    fn default() -> Self {
        Limits {
            request: Duration::from_secs(15),
            per_mib: Duration::from_secs(1),
            copy: Duration::from_secs(300),
        }
    }
}

impl Limits {
    /// The bound of a request moving `bytes` of body: `request + per_mib × ⌈bytes / MiB⌉`.
    pub fn for_bytes(&self, bytes: u64) -> Duration {
        let mib = bytes.div_ceil(1 << 20);
        self.request.saturating_add(
            self.per_mib
                .saturating_mul(u32::try_from(mib).unwrap_or(u32::MAX)),
        )
    }
}

/// `inner` with every call bounded by `limits`.
#[derive(Debug)]
pub(crate) struct Bounded {
    inner: Arc<dyn ObjectStore>,
    limits: Limits,
}

impl Bounded {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, limits: Limits) -> Self {
        Bounded { inner, limits }
    }
}

impl fmt::Display for Bounded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bounded({})", self.inner)
    }
}

/// The error of a call that missed its deadline: an I/O `TimedOut`, which
/// [`describe`](super::describe) reports as `request failed (no answer within 15 s)`.
fn timed_out(limit: Duration) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", limit.as_secs_f64()),
        )),
    }
}

/// `call`, or [`timed_out`] once `limit` has passed.
async fn within<T>(
    limit: Duration,
    call: impl std::future::Future<Output = object_store::Result<T>>,
) -> object_store::Result<T> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(timed_out(limit)))
}

/// When a stream's next item is late.
#[derive(Clone, Copy)]
enum Due {
    /// Each item within this long of asking for it (a page of a listing).
    Each(Duration),
    /// Every item by this instant (a body); the duration is the bound, for the message.
    By(Instant, Duration),
}

/// `inner`, ended with [`timed_out`] by the first item that is late.
fn bounded_stream<T: Send + 'static>(
    inner: BoxStream<'static, object_store::Result<T>>,
    due: Due,
) -> BoxStream<'static, object_store::Result<T>> {
    futures::stream::unfold(Some(inner), move |inner| async move {
        let mut inner = inner?;
        let (at, limit) = match due {
            Due::Each(limit) => (Instant::now() + limit, limit),
            Due::By(at, limit) => (at, limit),
        };
        match tokio::time::timeout_at(at, inner.next()).await {
            Ok(Some(item)) => Some((item, Some(inner))),
            Ok(None) => None,
            Err(_) => Some((Err(timed_out(limit)), None)),
        }
    })
    .boxed()
}

#[async_trait::async_trait]
impl ObjectStore for Bounded {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let limit = self.limits.for_bytes(payload.content_length() as u64);
        within(limit, self.inner.put_opts(location, payload, opts)).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let limit = self.limits.request;
        let upload = within(limit, self.inner.put_multipart_opts(location, opts)).await?;
        Ok(Box::new(BoundedUpload {
            inner: upload,
            limits: self.limits,
            bytes: 0,
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let start = Instant::now();
        let limit = self.limits.request;
        let mut got = within(limit, self.inner.get_opts(location, options)).await?;
        let body = self.limits.for_bytes(got.range.end - got.range.start);
        if let GetResultPayload::Stream(stream) = got.payload {
            got.payload =
                GetResultPayload::Stream(bounded_stream(stream, Due::By(start + body, body)));
        }
        Ok(got)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let bytes = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
        let limit = self.limits.for_bytes(bytes);
        within(limit, self.inner.get_ranges(location, ranges)).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let deleted = self.inner.delete_stream(locations);
        bounded_stream(deleted, Due::Each(self.limits.request))
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        bounded_stream(self.inner.list(prefix), Due::Each(self.limits.request))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let listed = self.inner.list_with_offset(prefix, offset);
        bounded_stream(listed, Due::Each(self.limits.request))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        within(self.limits.request, self.inner.list_with_delimiter(prefix)).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        within(self.limits.copy, self.inner.copy_opts(from, to, options)).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let limit = self.limits.copy.saturating_add(self.limits.request);
        within(limit, self.inner.rename_opts(from, to, options)).await
    }
}

/// A multipart upload whose parts, completion and abort are bounded like the rest.
#[derive(Debug)]
struct BoundedUpload {
    inner: Box<dyn MultipartUpload>,
    limits: Limits,
    /// Bytes of the parts handed out so far (the completion's bound counts them).
    bytes: u64,
}

#[async_trait::async_trait]
impl MultipartUpload for BoundedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let len = data.content_length() as u64;
        self.bytes = self.bytes.saturating_add(len);
        let limit = self.limits.for_bytes(len);
        let part = self.inner.put_part(data);
        Box::pin(within(limit, part))
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let limit = self.limits.for_bytes(self.bytes);
        within(limit, self.inner.complete()).await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        within(self.limits.request, self.inner.abort()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_grow_with_the_body() {
        let limits = Limits::default();
        assert_eq!(limits.for_bytes(0), Duration::from_secs(15));
        assert_eq!(limits.for_bytes(1), Duration::from_secs(16));
        assert_eq!(limits.for_bytes(64 << 20), Duration::from_secs(79));
        assert!(
            limits.for_bytes(u64::MAX) > Duration::from_secs(1 << 31),
            "saturates"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_fails_at_its_bound() {
        let limit = Duration::from_secs(15);
        let start = Instant::now();
        let err = within(limit, std::future::pending::<object_store::Result<()>>())
            .await
            .unwrap_err();
        assert_eq!(start.elapsed(), limit);
        assert_eq!(
            super::super::describe(&err),
            "request failed (no answer within 15 s)"
        );
        let stuck = futures::stream::pending::<object_store::Result<u8>>().boxed();
        let mut stream = bounded_stream(stuck, Due::Each(limit));
        assert!(stream.next().await.unwrap().is_err());
        assert!(stream.next().await.is_none(), "ends after the timeout");
    }
}
