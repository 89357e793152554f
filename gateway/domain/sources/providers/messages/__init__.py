"""Sources whose lead is a person who called, texted or wrote: CallRail, Twilio, Mailgun."""
