//! Interactive mode: you play one player in a terminal UI.
//!
//! Left: the chat feed, your own screen (the nudges and help cards only you see) and the input
//! line. Right: what a trust-and-safety team would watch — live risk meters per player and the
//! review queue. Before a line you type is sent, the game asks Waypoint (`check_chat`); when
//! the line would earn a response, you are asked "are you sure?" and can send it anyway or take
//! it back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bevy_app::App;
use bevy_ecs::prelude::*;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use waypoint::{AgeBand, ChatMessage, Engine, Health, PlayerId};

use crate::app::build_app;
use crate::game::{
    Blocklist, Feed, FeedKind, Human, HumanAction, HumanActions, Inbox, MatchState, Player,
    PrivateNote, TICK,
};
use crate::headless::clock_text;
use crate::integration::{EngineSettings, SafetyBoard, build_engine, route_pending, short_case};
use crate::personas::{Script, Team};

/// A line waiting for the player's answer to "are you sure?".
struct Pending {
    text: String,
    nudge: String,
    top_score: f32,
}

/// UI state outside the ECS world.
struct Ui {
    input: String,
    pending: Option<Pending>,
    status: String,
    me: PlayerId,
    locale: String,
    age_band: AgeBand,
}

/// Runs the interactive game until the player quits (Esc or Ctrl-C).
pub fn run(
    script: &Script,
    settings: EngineSettings,
    seed: u64,
    locale: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let human = script.personas.iter().position(|p| p.playable).unwrap_or(0);
    let persona = script
        .personas
        .get(human)
        .ok_or("the persona script has no players")?;
    let (engine, queue) = build_engine(&settings)?;
    let mut app = build_app(
        script,
        seed,
        settings.clock.clone(),
        Some(engine.clone()),
        Some((human, Some(locale.to_owned()))),
    );
    let mut ui = Ui {
        input: String::new(),
        pending: None,
        status: "type and press Enter to chat · /name NEW · /report NAME · /block NAME · Esc quits"
            .to_owned(),
        me: PlayerId::new(persona.id.clone()),
        locale: locale.to_owned(),
        age_band: persona.age_band,
    };
    let mut terminal = ratatui::init();
    let result = play(&mut terminal, &mut app, &engine, &mut ui);
    ratatui::restore();
    if !engine.flush(Duration::from_secs(5)) {
        eprintln!("waypoint: the engine did not finish its queue in time");
    }
    route_pending(app.world_mut(), &engine);
    if let Err(e) = engine.shutdown(Duration::from_secs(10)) {
        eprintln!("waypoint: {e}");
    }
    let referrals = app.world().get_resource::<SafetyBoard>().map_or(0, |b| {
        b.responses.iter().filter(|r| r.level == "review").count()
    });
    println!(
        "{referrals} referral(s) this session; review queue: {}; telemetry: {}",
        queue.path().display(),
        settings.data_dir.join("telemetry").display()
    );
    result
}

fn play(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    engine: &Engine,
    ui: &mut Ui,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut next_tick = Instant::now();
    loop {
        terminal.draw(|frame| draw(frame, app.world_mut(), engine, ui))?;
        let wait = next_tick.saturating_duration_since(Instant::now());
        if event::poll(wait)?
            && let Event::Key(key) = event::read()?
            && key.kind == KeyEventKind::Press
        {
            let ctrl_c =
                key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
            if ctrl_c || (key.code == KeyCode::Esc && ui.pending.is_none()) {
                return Ok(());
            }
            on_key(key.code, app.world_mut(), engine, ui);
        }
        let now = Instant::now();
        if now >= next_tick {
            app.update();
            next_tick += TICK;
            if now > next_tick + Duration::from_millis(250) {
                // Far behind (the terminal was suspended): don't try to catch up.
                next_tick = now + TICK;
            }
        }
    }
}

fn on_key(code: KeyCode, world: &mut World, engine: &Engine, ui: &mut Ui) {
    if let Some(pending) = ui.pending.take() {
        let send = match code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => true,
            KeyCode::Char('n' | 'N') | KeyCode::Esc => false,
            _ => {
                ui.pending = Some(pending);
                return;
            }
        };
        let note = PrivateNote::PreSend {
            text: pending.nudge,
            line: pending.text.clone(),
            retracted: !send,
        };
        let mut inbox = world.query_filtered::<&mut Inbox, With<Human>>();
        if let Ok(mut inbox) = inbox.single_mut(world) {
            inbox.0.push(note);
        }
        if send {
            act(
                world,
                HumanAction::Say(pending.text, Some(pending.top_score)),
            );
            ui.status = "sent".to_owned();
        } else {
            ui.status = "taken back: nobody saw it".to_owned();
        }
        return;
    }
    match code {
        KeyCode::Char(c) => ui.input.push(c),
        KeyCode::Backspace => {
            ui.input.pop();
        }
        KeyCode::Enter => {
            let line = std::mem::take(&mut ui.input);
            let line = line.trim();
            if line.is_empty() {
                return;
            }
            if let Some(rest) = line.strip_prefix("/name ") {
                act(world, HumanAction::Rename(rest.trim().to_owned()));
            } else if let Some(rest) = line.strip_prefix("/report ") {
                act(world, HumanAction::Report(rest.trim().to_owned()));
            } else if let Some(rest) = line.strip_prefix("/block ") {
                act(world, HumanAction::Block(rest.trim().to_owned()));
            } else {
                // The pre-send check: fast tier only, no history, on this thread.
                let chat = ChatMessage::new(ui.me.clone(), line)
                    .locale(ui.locale.clone())
                    .age_band(ui.age_band);
                let verdict = engine.check_chat(&chat);
                let top_score = verdict.scores.max().1;
                if verdict.should_nudge() {
                    ui.pending = Some(Pending {
                        text: line.to_owned(),
                        nudge: verdict.nudge_text.unwrap_or_default().to_owned(),
                        top_score,
                    });
                } else {
                    act(world, HumanAction::Say(line.to_owned(), Some(top_score)));
                }
            }
        }
        _ => {}
    }
}

fn act(world: &mut World, action: HumanAction) {
    if let Some(mut actions) = world.get_resource_mut::<HumanActions>() {
        actions.0.push(action);
    }
}

fn team_color(team: Team) -> Color {
    match team {
        Team::Red => Color::LightRed,
        Team::Blue => Color::LightBlue,
    }
}

fn draw(frame: &mut Frame, world: &mut World, engine: &Engine, ui: &Ui) {
    let mut players: Vec<(Player, Vec<PrivateNote>, Vec<PlayerId>, bool)> = world
        .query::<(&Player, &Inbox, &Blocklist, Has<Human>)>()
        .iter(world)
        .map(|(p, i, b, h)| (p.clone(), i.0.clone(), b.0.clone(), h))
        .collect();
    players.sort_by_key(|p| (p.0.team == Team::Blue, p.0.persona));
    let names: HashMap<String, String> = players
        .iter()
        .map(|p| (p.0.id.as_str().to_owned(), p.0.name.clone()))
        .collect();
    let Some((me, my_notes, my_blocks, _)) = players.iter().find(|p| p.3).cloned() else {
        return;
    };
    let (Some(state), Some(feed), Some(board)) = (
        world.get_resource::<MatchState>(),
        world.get_resource::<Feed>(),
        world.get_resource::<SafetyBoard>(),
    ) else {
        return;
    };

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
            .areas(frame.area());
    let [header, chat_area, mine_area, input_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(10),
        Constraint::Length(3),
    ])
    .areas(left);

    let header_text = format!(
        " match {} · round {}/{} · {} · red {} – blue {} · you are {} ({}, {})",
        state.game,
        state.round,
        state.rounds,
        clock_text(state.tick - state.round_start),
        state.score[0],
        state.score[1],
        me.name,
        me.team.as_str(),
        ui.locale
    );
    frame.render_widget(
        Paragraph::new(header_text).style(Style::new().add_modifier(Modifier::BOLD)),
        header,
    );

    // The chat feed as this player sees it: no lines from players they blocked.
    let rows = usize::from(chat_area.height.saturating_sub(2));
    let lines: Vec<Line> = feed
        .0
        .iter()
        .filter_map(|e| match &e.kind {
            FeedKind::Chat {
                from,
                name,
                team,
                text,
            } if !my_blocks.contains(from) => Some(Line::from(vec![
                Span::styled(format!("{name}: "), Style::new().fg(team_color(*team))),
                Span::raw(text.clone()),
            ])),
            FeedKind::Game(text) => Some(Line::styled(
                format!("· {text}"),
                Style::new().fg(Color::DarkGray),
            )),
            _ => None,
        })
        .collect();
    let skip = lines.len().saturating_sub(rows);
    frame.render_widget(
        Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>())
            .block(Block::bordered().title(" chat ")),
        chat_area,
    );

    // What only this player sees.
    let mut mine: Vec<Line> = Vec::new();
    for note in my_notes.iter().rev().take(3).rev() {
        match note {
            PrivateNote::PreSend {
                line, retracted, ..
            } => mine.push(Line::styled(
                format!(
                    "you {} {line:?} after the pre-send check",
                    if *retracted { "took back" } else { "sent" }
                ),
                Style::new().fg(Color::DarkGray),
            )),
            PrivateNote::Nudge { text } => mine.push(Line::styled(
                format!("Note: {text}"),
                Style::new().fg(Color::Yellow),
            )),
            PrivateNote::Help(card) => {
                mine.push(Line::styled(
                    format!("♥ {}", card.organisation),
                    Style::new()
                        .fg(Color::LightGreen)
                        .add_modifier(Modifier::BOLD),
                ));
                mine.push(Line::raw(card.text.clone()));
                let mut links = vec![card.url.clone()];
                links.extend(card.chat_url.iter().map(|c| format!("chat: {c}")));
                links.extend(card.phone.iter().map(|p| format!("phone: {p}")));
                mine.push(Line::styled(
                    links.join(" · "),
                    Style::new().fg(Color::Cyan),
                ));
            }
        }
    }
    frame.render_widget(
        Paragraph::new(mine)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" your screen (only you see this) ")),
        mine_area,
    );
    frame.render_widget(
        Paragraph::new(format!("> {}█", ui.input))
            .block(Block::bordered().title(format!(" say · {} ", ui.status))),
        input_area,
    );

    // Trust-and-safety panel.
    let [meters_area, queue_area, engine_area] = Layout::vertical([
        Constraint::Min(10),
        Constraint::Length(8),
        Constraint::Length(3),
    ])
    .areas(right);
    let bar = |value: f32, width: usize| {
        let filled = ((value.clamp(0.0, 1.0) * width as f32).round() as usize).min(width);
        format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
    };
    let mut meters = vec![Line::styled(
        "player        last line   risk (category)     top",
        Style::new().add_modifier(Modifier::UNDERLINED),
    )];
    for (p, _, _, _) in &players {
        let id = p.id.as_str();
        let line_score = board.last_line.get(id).copied().unwrap_or(0.0);
        let (category, risk) = board.risk.get(id).map_or(("", 0.0), |r| {
            waypoint::Category::ALL
                .iter()
                .map(|c| (c.as_str(), r.get(*c)))
                .fold(("", 0.0), |a, b| if b.1 > a.1 { b } else { a })
        });
        let top = board
            .responses
            .iter()
            .filter(|r| r.player == id)
            .map(|r| r.level)
            .max_by_key(|l| ["nudge", "help", "review"].iter().position(|x| x == l))
            .unwrap_or("");
        let risk_color = match top {
            "review" => Color::LightRed,
            "help" => Color::LightYellow,
            "nudge" => Color::Yellow,
            _ => Color::Green,
        };
        meters.push(Line::from(vec![
            Span::styled(
                format!("{:<13.13} ", p.name),
                Style::new().fg(team_color(p.team)),
            ),
            Span::raw(format!("{} ", bar(line_score, 8))),
            Span::styled(
                format!("{} {:>4.1} {:<9}", bar(risk / 4.0, 6), risk, category),
                Style::new().fg(risk_color),
            ),
            Span::styled(format!(" {top}"), Style::new().fg(risk_color)),
        ]));
    }
    frame.render_widget(
        Paragraph::new(meters).block(Block::bordered().title(" trust & safety · risk ")),
        meters_area,
    );
    let queue: Vec<Line> = board
        .responses
        .iter()
        .filter(|r| r.level == "review")
        .rev()
        .take(usize::from(queue_area.height.saturating_sub(2)))
        .map(|r| {
            Line::raw(format!(
                "{} {} {} ×{:.2}",
                r.case_id.as_deref().map_or("", short_case),
                names
                    .get(&r.player)
                    .map_or(r.player.as_str(), String::as_str),
                r.rule,
                r.amplification
            ))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(queue).block(Block::bordered().title(" review queue ")),
        queue_area,
    );
    let stats = engine.stats();
    let health = match engine.health() {
        Health::Ready => "ready".to_owned(),
        Health::Degraded { reasons } => format!("degraded: {}", reasons.join("; ")),
    };
    frame.render_widget(
        Paragraph::new(format!(
            "{health} · {} signals · {} dropped",
            stats.submitted, stats.dropped
        ))
        .block(Block::new().borders(Borders::ALL).title(" engine ")),
        engine_area,
    );

    if let Some(pending) = &ui.pending {
        let area = centered(frame.area(), 60, 9);
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(vec![
                Line::styled(pending.nudge.clone(), Style::new().fg(Color::Yellow)),
                Line::raw(""),
                Line::raw(format!("  {:?}", pending.text)),
                Line::raw(""),
                Line::styled(
                    "[y] send anyway    [n] take it back",
                    Style::new().add_modifier(Modifier::BOLD),
                ),
            ])
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" are you sure? ")),
            area,
        );
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}
