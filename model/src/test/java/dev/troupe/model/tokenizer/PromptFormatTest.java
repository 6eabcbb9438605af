package dev.troupe.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.model.tokenizer.PromptFormat.Message;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptFormatTest {
  private static final List<Message> CHAT =
      List.of(Message.system("Be brief."), Message.user("Hi"), Message.assistant("Hello."), Message.user("Bye"));

  @Test
  void hhPromptEndsAtAssistantColonAndTheResponseFollowsASpace() {
    List<Message> turn = List.of(Message.user("What is 2+2?"));
    assertEquals("\n\nHuman: What is 2+2?\n\nAssistant:", PromptFormat.HH.render(turn, true));
    assertEquals(
        "\n\nHuman: What is 2+2?\n\nAssistant: 4",
        PromptFormat.HH.render(List.of(turn.get(0), Message.assistant("4")), false));
  }

  @Test
  void chatmlWrapsEveryMessageAndOpensTheAssistantTurn() {
    assertEquals(
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            + "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
        PromptFormat.CHATML.render(CHAT, true));
  }

  @Test
  void plainIsThePromptAsIs() {
    assertEquals("Once upon a time", PromptFormat.PLAIN.render(List.of(Message.user("Once upon a time")), true));
    assertEquals("Be brief.HiHello.Bye", PromptFormat.PLAIN.render(CHAT, false));
  }

  @Test
  void unknownRoleIsRejectedByName() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Message("human", "hi"));
    assertTrue(e.getMessage().contains("'human'"), e.getMessage());
  }

  @Test
  void hhHasNoPlaceForALateSystemMessage() {
    List<Message> late = List.of(Message.user("Hi"), Message.system("Be brief."));
    assertThrows(IllegalArgumentException.class, () -> PromptFormat.HH.render(late, false));
  }

  @Test
  void parseHhSplitsTurnsAndKeepsAPreambleAsSystem() {
    String transcript = "Rules.\n\nHuman: Hi\nHuman: not a turn\n\nAssistant:  two spaces\n\nHuman: Bye\n\nAssistant: ";
    assertEquals(
        List.of(
            Message.system("Rules."),
            Message.user("Hi\nHuman: not a turn"),
            Message.assistant(" two spaces"),
            Message.user("Bye"),
            Message.assistant("")),
        PromptFormat.parseHh(transcript));
    assertEquals(transcript, PromptFormat.HH.render(PromptFormat.parseHh(transcript), false));
  }

  @Test
  void parseThenRenderGivesBackEveryHhHarmlessTestTranscript() throws Exception {
    HhRlhfRows rows = HhRlhfRows.load();
    assertEquals(HhRlhfRows.ROWS, rows.size());
    List<String> problems = new ArrayList<>();
    for (int row = 0; row < rows.size(); row++) {
      for (String side : List.of("chosen", "rejected")) {
        String transcript = side.equals("chosen") ? rows.chosen().get(row) : rows.rejected().get(row);
        List<Message> messages = PromptFormat.parseHh(transcript);
        int at = HhRlhfRows.firstDifference(transcript, PromptFormat.HH.render(messages, false));
        // The prompt as a policy sees it, plus " " + the last reply, is the transcript.
        Message last = messages.get(messages.size() - 1);
        String prompt = PromptFormat.HH.render(messages.subList(0, messages.size() - 1), true);
        if (at >= 0) {
          problems.add("row " + row + " " + side + " differs at char " + at); // never the red-team text
        } else if (!last.role().equals("assistant") || !(prompt + " " + last.content()).equals(transcript)) {
          problems.add("row " + row + " " + side + " does not end in an assistant reply after the prompt");
        }
      }
    }
    assertEquals(List.of(), problems, "every chosen and rejected transcript round-trips");
  }
}
