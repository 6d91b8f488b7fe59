"""Channel adapters: email over SMTP, SMS and WhatsApp through an HTTP gateway."""
