//! Routing a simulator's request by method and path template. A template's `{name}` segment
//! matches one non-empty path segment, given back raw (not decoded: a simulator decides whether
//! its ids are percent-decoded, see [`super::decode_segment`]).

/// One route: a method and a path template, and what the simulator does for it.
#[derive(Debug, Clone)]
pub struct Route<T> {
    pub method: http::Method,
    pub template: &'static str,
    pub target: T,
}

impl<T> Route<T> {
    pub const fn new(method: http::Method, template: &'static str, target: T) -> Self {
        Self { method, template, target }
    }
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Routed<'p, T> {
    /// A route matched: its target and the raw segments its `{…}` placeholders matched, in order.
    Found(T, Vec<&'p str>),
    /// The path matches a route, but not with this method.
    WrongMethod,
    /// No route has this path.
    NoRoute,
}

/// The first route matching `method` and `path`.
pub fn route<'p, T: Copy>(routes: &[Route<T>], method: &http::Method, path: &'p str) -> Routed<'p, T> {
    let mut path_known = false;
    for candidate in routes {
        if let Some(segments) = match_template(candidate.template, path) {
            if candidate.method == method {
                return Routed::Found(candidate.target, segments);
            }
            path_known = true;
        }
    }
    if path_known { Routed::WrongMethod } else { Routed::NoRoute }
}

/// The raw segments `path` gives `template`'s placeholders, or `None` when it does not match.
pub fn match_template<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    let mut segments = Vec::new();
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(segments),
            (Some(placeholder), Some(segment)) if placeholder.starts_with('{') && placeholder.ends_with('}') => {
                if segment.is_empty() {
                    return None;
                }
                segments.push(segment);
            }
            (Some(literal), Some(segment)) if literal == segment => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use http::Method;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Target {
        Read,
        Update,
        Items,
    }

    const ROUTES: [Route<Target>; 3] = [
        Route::new(Method::GET, "/v1/sessions/{id}", Target::Read),
        Route::new(Method::POST, "/v1/sessions/{id}", Target::Update),
        Route::new(Method::GET, "/v1/sessions/{id}/items", Target::Items),
    ];

    #[test]
    fn method_and_template_pick_the_route() {
        assert_eq!(route(&ROUTES, &Method::GET, "/v1/sessions/cs%201"), Routed::Found(Target::Read, vec!["cs%201"]));
        assert_eq!(route(&ROUTES, &Method::POST, "/v1/sessions/cs_1"), Routed::Found(Target::Update, vec!["cs_1"]));
        assert_eq!(route(&ROUTES, &Method::GET, "/v1/sessions/cs_1/items"), Routed::Found(Target::Items, vec!["cs_1"]));
    }

    #[test]
    fn a_known_path_with_another_method_is_told_apart_from_an_unknown_path() {
        assert_eq!(route(&ROUTES, &Method::DELETE, "/v1/sessions/cs_1"), Routed::WrongMethod);
        assert_eq!(route(&ROUTES, &Method::GET, "/v1/sessions/"), Routed::NoRoute);
        assert_eq!(route(&ROUTES, &Method::GET, "/v1/sessions/a/b"), Routed::NoRoute);
        assert_eq!(route(&ROUTES, &Method::GET, "/v1/sessions"), Routed::NoRoute);
        assert_eq!(route(&ROUTES, &Method::GET, "/v1/sessions/cs_1/"), Routed::NoRoute);
    }

    #[test]
    fn templates_match_whole_segments() {
        assert_eq!(match_template("/a/{x}/c/{y}", "/a/1/c/2"), Some(vec!["1", "2"]));
        assert_eq!(match_template("/a/{x}", "/ab/1"), None);
        assert_eq!(match_template("/a", "/a"), Some(Vec::new()));
    }
}
