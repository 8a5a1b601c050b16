mod layout;
mod oracle;
mod support;
