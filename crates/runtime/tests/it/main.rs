mod layout;
mod live;
mod oracle;
mod support;
mod waits;
