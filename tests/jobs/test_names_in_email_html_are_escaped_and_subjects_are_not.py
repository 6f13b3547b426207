"""Names and justifications are escaped in the HTML part and left as typed in the subject and the
text part (the same sentence is rendered for both)."""


def test_markup_in_a_name_is_text(directory, global_admin, person, policy, activate, delivered):
    alice = person("Alice <b>O'Hara</b>")
    policy("helpdesk-administrator")

    activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"), justification="<i>why</i>")

    message = delivered.one("gadmin@example.com", "activated")
    assert message.subject == "PIM: Alice <b>O'Hara</b> activated Helpdesk Administrator"
    assert "Alice <b>O'Hara</b> activated" in message.body
    assert "<b>" not in message.html and "<i>why</i>" not in message.html
    assert "Alice &lt;b&gt;O&#x27;Hara&lt;/b&gt; activated" in message.html
