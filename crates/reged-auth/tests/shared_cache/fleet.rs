//! Separate OS processes sharing one Redis: one token request for the whole fleet.
