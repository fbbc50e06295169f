"""The menu after onboarding: permit steps, progress, eligibility, loans, settings and /delete."""

from __future__ import annotations

from bot.core.text import progress_bar
from tests.conftest import Bot
from tests.test_onboarding import onboard


async def test_walks_every_permit_step_to_the_end(bot: Bot) -> None:
    """A Persian applicant marks each step done; progress shows dates and the next action."""
    me = await onboard(bot, 601)
    steps = bot.svc.content.steps_for("handicrafts")
    permit_steps = bot.svc.content.track_steps("handicrafts", "permit")
    await me.press("📋 مراحل مجوز")
    assert (
        f"مرحله ۱ از {len(permit_steps)}".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        in me.last
    )
    assert steps[0].title.fa in me.last
    for step in steps:
        card = me.last_message  # edited in place, or a new card after a date question
        assert step.title.fa in card.content
        await me.press_data(f"st:done:{step.id}", card.message_id)
        if step.milestone:
            assert "در چه تاریخی" in me.last
            await me.press("📅 امروز")
        bot.clock.advance(days=1)
    assert any("همه مراحل" in m.content for m in me.history[-4:])
    progress = await bot.svc.steps.progress(
        me.user_id and (await bot.svc.users.find("telegram", 601)).id
    )
    assert set(progress) == {s.id for s in steps}
    assert all(p.done_at for p in progress.values())
    await me.press("📈 پیشرفت من")
    loan_steps = bot.svc.content.track_steps("handicrafts", "loan")
    assert progress_bar(len(permit_steps), len(permit_steps)) in me.last
    assert progress_bar(len(loan_steps), len(loan_steps)) in me.last
    assert "۱۴۰۵/۰۹/۰۸" in me.last and "۱۴۰۵/۰۹/۰۹" in me.last
    assert "همه مراحل انجام شده" in me.last


async def test_progress_shows_bar_and_single_next_action(bot: Bot) -> None:
    """After two steps: ▰▰▱… two of N, and the third step as the next action."""
    me = await onboard(bot, 602, lang="en")
    steps = bot.svc.content.steps_for("handicrafts")
    await me.press("📋 Permit steps")
    await me.press("✓ Done")
    await me.press("✓ Done")
    permit_steps = bot.svc.content.track_steps("handicrafts", "permit")
    await me.press("📈 My progress")
    assert f"{progress_bar(2, len(permit_steps))} 2 of {len(permit_steps)}" in me.last
    assert f"Next step: {steps[2].title.en}" in me.last
    assert "1405/09/08 (2026-11-29)" in me.last
    await me.press("Open the next step")
    assert steps[2].title.en in me.last


async def test_food_field_gets_extra_approval_steps(bot: Bot) -> None:
    """Fields needing extra approvals show those steps, marked as such."""
    me = await onboard(bot, 603, lang="en")
    await me.press("⚙️ Settings")
    await me.press("set:profile")
    await me.press("pf:field")
    await me.press("Home food production")
    await me.press("📋 Permit steps")
    await me.press("📋 All steps")
    labels = " ".join(me.buttons)
    assert "Health licence" in labels and "Agriculture Jihad approval" in labels
    await me.press("Health licence")
    assert "specific to your field" in me.last


async def test_back_next_help_and_undo_on_step_cards(bot: Bot) -> None:
    """Next and Back move between cards in place; help is recorded; undo clears done."""
    me = await onboard(bot, 604, lang="en")
    steps = bot.svc.content.steps_for("handicrafts")
    await me.press("📋 Permit steps")
    card = me.last_message
    await me.press("Next »")
    assert steps[1].title.en in me.last and me.last_message.message_id == card.message_id
    await me.press("« Back")
    assert steps[0].title.en in me.last
    await me.press("🙋 I need help")
    assert steps[0].help.en in me.last and "66747747" in me.last
    user = await bot.svc.users.find("telegram", 604)
    progress = await bot.svc.steps.progress(user.id)
    assert progress[steps[0].id].help_at is not None
    await me.press_data(f"st:done:{steps[0].id}", card.message_id)
    await me.press_data(f"st:undo:{steps[0].id}", card.message_id)
    progress = await bot.svc.steps.progress(user.id)
    assert progress[steps[0].id].done_at is None


async def test_stage_permit_marks_permit_steps_done(bot: Bot) -> None:
    """Choosing "permit issued" in the profile records the permit steps as done."""
    me = await onboard(bot, 605, stage="مجوز گرفته‌ام")
    await me.press("📅 امروز")  # when the permit was issued
    steps = bot.svc.content.steps_for("handicrafts")
    permit_index = next(i for i, s in enumerate(steps) if s.milestone == "permit_issued")
    await me.press("📈 پیشرفت من")
    assert steps[permit_index + 1].title.fa in me.last.split("👉")[1]


async def test_eligibility_questionnaire_lists_reasons(bot: Bot) -> None:
    """Answers from the content decide; a failing answer is listed as a reason."""
    me = await onboard(bot, 606, lang="en")
    await me.press("✅ Am I eligible?")
    questions = bot.svc.content.eligibility.questions
    assert questions[0].text.en in me.last and "Question 1 of" in me.last
    failing = None
    for question in questions:
        answer = question.answers[0]
        if question.id == "nationality":
            answer = next(a for a in question.answers if a.outcome == "fail")
            failing = answer
        await me.press(f"el:{question.id}:{answer.id}")
    assert failing is not None and failing.reason is not None
    result = next(m.content for m in reversed(me.history) if failing.reason.en in m.content)
    assert bot.svc.content.eligibility.result.not_eligible.en in result


async def test_eligibility_stale_and_forged_answers(bot: Bot) -> None:
    """An answer to an earlier question, or an unknown answer, is refused politely."""
    me = await onboard(bot, 607, lang="en")
    await me.press("✅ Am I eligible?")
    questions = bot.svc.content.eligibility.questions
    first = questions[0]
    await me.press(f"el:{first.id}:{first.answers[0].id}")
    replies = await me.press_data(f"el:{first.id}:{first.answers[0].id}")
    assert "no longer works" in replies[0].content
    assert questions[1].text.en in replies[-1].content
    replies = await me.press_data(f"el:{questions[1].id}:nonsense")
    assert questions[1].text.en in replies[-1].content
    user = await bot.svc.users.find("telegram", 607)
    assert user.state == "elig" and user.state_data["answers"] == {first.id: first.answers[0].id}


#: A phone shows about this many lines of a message at once, of about LINE_WIDTH characters.
SCREEN_LINES, LINE_WIDTH = 26, 38


def screen_lines(text: str) -> int:
    """How many lines a text takes on a narrow phone, each line wrapped at LINE_WIDTH."""
    return sum(max(1, -(-len(line) // LINE_WIDTH)) for line in text.splitlines())


async def test_loans_and_contact_pages(bot: Bot) -> None:
    """The loan page fits one phone screen (14 lines, the 1404 caveat once, «تسهیلات» explained
    once); Ask a question shows the secretariat, the hours and the portals from the content."""
    me = await onboard(bot, 608)
    content = bot.svc.content
    await me.press("💰 وام")
    page = me.last
    lines = page.splitlines()
    assert lines[0] == "💰 وام مشاغل خانگی" and content.loans.intro.fa in page
    assert [f"• {fact}" for fact in content.loans.facts.fa] == lines[4:7]
    assert "مراحل: ثبت درخواست ← کارگروه شهرستان ← کمیته فنی ← معرفی به بانک عامل" in lines
    assert len(lines) <= 14 and screen_lines(page) <= SCREEN_LINES, page
    assert page.count("۱۴۰۴") == 1 and page.count("تسهیلات") == 1
    replies = await me.press("💬 پرسش از کارشناس")
    assert len(replies) == 1  # the contact and the invitation to write, in one message
    page = me.last
    assert "🏛 دبیرخانه طرح در جهاد دانشگاهی\nمعاونت آموزش و کارآفرینی جهاد دانشگاهی" in page
    assert "☎️ تلفن: ۰۲۱-۶۶۷۴۷۷۴۷\n🕘 ساعت پاسخ‌گویی به‌طور رسمی اعلام نشده است." in page
    assert "🌐 سامانه مشاغل خانگی: https://smkh.mcls.gov.ir" in page
    mojavez = content.portal("mojavez")
    assert mojavez is not None and mojavez.note is not None
    assert f"🌐 درگاه ملی مجوزهای کشور: https://mojavez.ir\n{mojavez.note.fa}" in page
    assert "پرسشتان را بنویسید" in page
    await me.send("/cancel")
    await me.press("❔ پرسش‌های رایج")
    faq = content.faq[0]
    await me.press(faq.q.fa)
    assert faq.a.fa in me.last


async def test_stop_and_start_toggle_proactive_messages(bot: Bot) -> None:
    """/stop turns follow-ups off; /start turns them on again."""
    me = await onboard(bot, 609, lang="en")
    await me.send("/stop")
    user = await bot.svc.users.find("telegram", 609)
    assert not user.proactive
    await me.send("/start")
    assert any("on again" in m.content for m in me.history[-3:])
    user = await bot.svc.users.find("telegram", 609)
    assert user.proactive


async def test_change_language_from_settings(bot: Bot) -> None:
    """Settings → Language switches every later text."""
    me = await onboard(bot, 610)
    await me.press("⚙️ تنظیمات")
    await me.press("set:lang")
    await me.press("English")
    assert "Language changed" in me.last
    assert "📋 Permit steps" in me.reply_keyboard


async def test_delete_erases_everything_after_confirmation(bot: Bot) -> None:
    """/delete asks first; "no" keeps, "yes" erases every row and says what went."""
    me = await onboard(bot, 611, lang="en")
    await me.press("📋 Permit steps")
    await me.press("✓ Done")
    await me.send("/delete")
    await me.press("No, keep it")
    assert await bot.svc.users.find("telegram", 611) is not None
    await me.send("/delete")
    await me.press("Yes, erase everything")
    assert "Erased" in me.last and "(1 completed steps)" in me.last
    assert await bot.svc.users.find("telegram", 611) is None
    db = bot.svc.db
    for table in ("users", "step_progress"):
        row = await db.fetchone(f"SELECT COUNT(*) FROM {table}")
        assert row[0] == 0, table
    stale = await me.press_data("del:yes")
    assert "no longer works" in stale[0].content


async def test_restart_mid_steps_resumes_at_the_next_step(bot: Bot) -> None:
    """Progress survives a restart; the menu opens the step after the last one done."""
    me = await onboard(bot, 612, lang="en")
    steps = bot.svc.content.steps_for("handicrafts")
    await me.press("📋 Permit steps")
    await me.press("✓ Done")
    await bot.restart()
    me = bot.client(612, lang="en")
    await me.press("📋 Permit steps")
    assert steps[1].title.en in me.last


async def test_the_faq_is_in_the_menu_and_in_help(bot: Bot) -> None:
    """«❔ پرسش‌های رایج» is a menu entry, a command and a line of /help; the keyboard fits."""
    me = await onboard(bot, 613)
    rows = [[b["text"] for b in row] for row in bot.emulator.reply_keyboard(613)["keyboard"]]
    assert rows == [
        ["📋 مراحل مجوز", "📈 پیشرفت من"],
        ["✅ آیا واجد شرایطم؟"],
        ["💰 وام", "❔ پرسش‌های رایج"],
        ["💬 پرسش از کارشناس"],
        ["⚙️ تنظیمات", "❓ راهنما"],
    ]  # two to a row only where both labels are short enough for a narrow phone
    faq = bot.svc.content.faq
    await me.press("❔ پرسش‌های رایج")
    assert me.last == "❔ پرسش‌های رایج — یکی را انتخاب کنید:"
    assert me.buttons == [item.q.fa for item in faq]
    await me.press(faq[2].q.fa)
    assert faq[2].a.fa in me.last and me.buttons == ["« پرسش‌های رایج"]
    await me.press("❓ راهنما")
    assert "❔ پرسش‌های رایج" in me.last and "/faq" in me.last and "ربات" in me.last
    await me.send("/faq")
    assert me.buttons == [item.q.fa for item in faq]


async def test_the_english_menu_fits_and_the_faq_needs_no_consent(bot: Bot) -> None:
    """English labels are laid out by the same rule; someone who has not agreed may read the
    FAQ (it is public), and reading it stores nothing."""
    from bot.core.text import PAIR_WIDTH, label_width

    await onboard(bot, 614, lang="en")
    rows = [[b["text"] for b in row] for row in bot.emulator.reply_keyboard(614)["keyboard"]]
    assert "❔ Common questions" in [label for row in rows for label in row]
    assert all(len(row) == 1 or max(map(label_width, row)) <= PAIR_WIDTH for row in rows)
    visitor = bot.client(615, lang="en")
    await visitor.send("/faq")
    faq = bot.svc.content.faq[0]
    await visitor.press(faq.q.en)
    assert faq.a.en in visitor.last
    assert await bot.svc.users.find("telegram", 615) is None


async def test_help_on_a_step_says_what_happens_and_is_filed_once(bot: Bot) -> None:
    """"🙋 I need help" tells the person the staff will get back to them, how and roughly when;
    pressing it again while that request is open files nothing more."""
    me = await onboard(bot, 616, lang="en")
    steps = bot.svc.content.steps_for("handicrafts")
    await me.press("📋 Permit steps")
    card = me.last_message
    await me.press("🙋 I need help")
    followup = bot.svc.content.contact.followup.en
    assert "Your request for help has been passed to the programme staff." in me.last
    assert followup in me.last and steps[0].help.en in me.last
    await me.press_data(f"st:help:{steps[0].id}", card.message_id)
    assert "was already passed to the programme staff" in me.last and followup in me.last
    rows = await bot.svc.db.fetchall("SELECT kind, detail FROM followups")
    assert [(r[0], r[1]) for r in rows] == [("step_help", f'{{"step": "{steps[0].id}"}}')]
    await me.press_data(f"st:show:{steps[1].id}", card.message_id)
    await me.press("🙋 I need help")  # another step: another request
    assert "has been passed" in me.last
    rows = await bot.svc.db.fetchall("SELECT COUNT(*) FROM followups")
    assert rows[0][0] == 2
