mod layout;
mod live;
mod oracle;
mod support;
mod values;
mod waits;
