//! The service's XML → typed responses (used by the client). TODO(client helper).
