//! A map that can fail: errors are data, on a second stream.
//!
//! ```
//! use timely::dataflow::operators::{ToStream, Inspect};
//! use oddsflow_operators::MapFallible;
//!
//! timely::example(|scope| {
//!     let (oks, errs) = vec!["1", "x", "3"].to_stream(scope).map_fallible("Parse", |s: &str| s.parse::<u32>());
//!     oks.inspect(|n| assert!(*n == 1 || *n == 3));
//!     errs.inspect(|e| assert!(e.to_string().contains("invalid digit")));
//! });
//! ```

use timely::dataflow::StreamVec;
use timely::dataflow::operators::OkErr;
use timely::progress::Timestamp;

/// Extension trait: see the module docs.
pub trait MapFallible<'scope, T: Timestamp, D> {
    /// Applies `logic` to every record; `Ok`s go to the first stream, `Err`s to the second.
    fn map_fallible<D2, E, L>(
        self,
        name: &str,
        logic: L,
    ) -> (StreamVec<'scope, T, D2>, StreamVec<'scope, T, E>)
    where
        D2: Clone + 'static,
        E: Clone + 'static,
        L: FnMut(D) -> Result<D2, E> + 'static;
}

impl<'scope, T: Timestamp, D: Clone + 'static> MapFallible<'scope, T, D>
    for StreamVec<'scope, T, D>
{
    fn map_fallible<D2, E, L>(
        self,
        _name: &str,
        logic: L,
    ) -> (StreamVec<'scope, T, D2>, StreamVec<'scope, T, E>)
    where
        D2: Clone + 'static,
        E: Clone + 'static,
        L: FnMut(D) -> Result<D2, E> + 'static,
    {
        let mut logic = logic;
        self.ok_err(move |d| logic(d))
    }
}
