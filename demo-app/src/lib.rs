//! The demo application for `actix-kakao-auth`, as a library so tests can start it
//! in-process: [`app::start`] with a [`config::DemoConfig`].

pub mod app;
pub mod config;
pub mod db;
pub mod db_error;
pub mod doctor;
pub mod downloads;
pub mod guards;
pub mod import_django;
pub mod link_data;
pub mod models;
pub mod pages;
pub mod routes;
pub mod schema;
pub mod sessions;
pub mod state;
pub mod store;
pub mod user_cache;
