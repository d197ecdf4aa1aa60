//! Typed responses → the XML the service sends (used by the sandbox). TODO(sandbox helper).
