using System.Net;
using System.Text.Json;
using BarkSharp.Tests.Infrastructure;
using BarkSharp.Tests.Server;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace BarkSharp.Tests.Playground;

/// <summary>
/// One headless Chromium (Debian's <c>chromium</c> + <c>chromedriver</c>, no browser download) shared by the tests of
/// <see cref="PlaygroundBrowserTests"/>; started on first use.
/// </summary>
public sealed class ChromiumFixture : IDisposable
{
    private readonly Lazy<ChromeDriver> _driver;

    public ChromiumFixture() => _driver = new(Start);

    public ChromeDriver Driver => _driver.Value;

    /// <summary>Where the browser saves downloads.</summary>
    public string Downloads { get; } = Fixtures.TempDir();

    private ChromeDriver Start()
    {
        string driverPath = ToolFactAttribute.Find("chromedriver") ?? throw new InvalidOperationException("chromedriver is not on the PATH (.ci/run installs chromium-driver)");
        string browserPath = ToolFactAttribute.Find("chromium") ?? throw new InvalidOperationException("chromium is not on the PATH (.ci/run installs chromium)");
        ChromeDriverService service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driverPath)!, Path.GetFileName(driverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = browserPath };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required",
            "--window-size=1000,1500", "--mute-audio", "--use-fake-device-for-media-stream");
        options.AddUserProfilePreference("download.default_directory", Downloads);
        options.AddUserProfilePreference("download.prompt_for_download", false);
        var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(20);
        return driver;
    }

    public void Dispose()
    {
        if (_driver.IsValueCreated) _driver.Value.Quit();
        try
        {
            Directory.Delete(Downloads, true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// The playground page (<c>GET /</c>) in a real headless Chromium against a Kestrel server on 127.0.0.1: speaking with
/// the tiny model streams audio into Web Audio and fills the waveform, timings and runs; Stop makes the server stop
/// generating; server errors and the API-key prompt show what the server sent.
/// </summary>
public sealed class PlaygroundBrowserTests(ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    private ChromeDriver Driver => chromium.Driver;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private void Open(BarkTestServer server)
    {
        Driver.Navigate().GoToUrl(server.BaseAddress);
        Until(d => d.FindElements(By.CssSelector("#voice option")).Count > 1 || d.FindElement(By.Id("error")).Displayed, "the voice list to load");
    }

    private T Until<T>(Func<IWebDriver, T> condition, string what)
    {
        var wait = new WebDriverWait(Driver, Wait) { Message = "waited for " + what };
        return wait.Until(condition);
    }

    private object? Js(string script, params object[] args) => Driver.ExecuteScript(script, args);

    private string[] VoiceValues() => Driver.FindElements(By.CssSelector("#voice option")).Select(o => o.GetDomProperty("value") ?? "").ToArray();

    private string State => Driver.FindElement(By.Id("player")).GetDomAttribute("data-state") ?? "";

    [ToolFact("chromium", "chromedriver")]
    public async Task Speak_streams_audio_and_shows_waveform_timings_and_the_run()
    {
        await using BarkTestServer server = await BarkTestServer.StartAsync();
        Open(server);

        Assert.Contains(VoiceValues(), v => v == "v2/en_speaker_6");
        Assert.Equal("English presets", Js("return document.querySelector('#voice option[value=\"v2/en_speaker_6\"]').parentElement.label"));
        Driver.FindElement(By.CssSelector("#voice option[value='v2/en_speaker_6']")).Click();
        Assert.Equal("v2/en_speaker_6", Driver.FindElement(By.Id("voice")).GetDomProperty("value"));

        IWebElement text = Driver.FindElement(By.Id("text"));
        text.Clear();
        text.SendKeys("Hello from the playground.");
        Driver.FindElement(By.CssSelector("button.tag[data-tag='[laughs]']")).Click();
        text.SendKeys("\n\nA second paragraph is a second segment.");
        Assert.Equal("Hello from the playground. [laughs]\n\nA second paragraph is a second segment.", text.GetDomProperty("value"));
        Driver.FindElement(By.Id("seed")).SendKeys("7");

        Driver.FindElement(By.Id("speak")).Click();
        Until(_ => State is "done" or "error" or "stopped", "the run to finish");
        Assert.True(State == "done", "run ended as " + State + ": " + Driver.FindElement(By.Id("error")).Text);

        // audio went through Web Audio: every segment's seconds were scheduled, and the context's clock passed the start
        double scheduled = Convert.ToDouble(Js("return window.barkPlayground.scheduledSeconds"));
        double runSeconds = Convert.ToDouble(Js("return window.barkPlayground.runs[0].samples.length / 24000"));
        Assert.True(runSeconds > 0, $"run of {runSeconds} s");
        Assert.Equal(runSeconds, scheduled, 3);
        Assert.Equal("running", Js("return window.barkPlayground.audioContext.state"));
        Until(_ => (bool)Js("return window.barkPlayground.audioContext.currentTime > window.barkPlayground.contextStart")!, "playback to start");

        // the waveform canvas is drawn: pixels in most columns, spanning many rows (normalized to the run's peak)
        var pixels = (IReadOnlyCollection<object>)Js("""
            const c = document.getElementById('waveform');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const cols = new Set(), rows = new Set();
            for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) { cols.add((i / 4) % c.width); rows.add(Math.floor(i / 4 / c.width)); }
            return [cols.size, rows.size, c.width];
            """)!;
        long[] p = pixels.Select(Convert.ToInt64).ToArray();
        Assert.True(p[0] > p[2] * 0.9, $"waveform covers {p[0]} of {p[2]} columns");
        Assert.True(p[1] > 40, $"waveform spans {p[1]} rows");

        // timings: one row per segment, every stage a number, and a total row
        var rows = Driver.FindElements(By.CssSelector("#timings tbody tr"));
        Assert.Equal(2, rows.Count);
        Assert.Equal(2L, Convert.ToInt64(Js("return window.barkPlayground.runs[0].boundaries.length")));
        Assert.Equal(2, Driver.FindElements(By.CssSelector("#segments li[data-state=done]")).Count);
        foreach (IWebElement row in rows)
        {
            var cells = row.FindElements(By.TagName("td")).Skip(1).Select(c => c.Text).ToArray();
            Assert.Equal(4, cells.Length);
            Assert.All(cells, c => Assert.True(double.TryParse(c, System.Globalization.CultureInfo.InvariantCulture, out double v) && v >= 0, $"timing cell '{c}'"));
        }
        Assert.Equal("Total", Driver.FindElement(By.CssSelector("#timings tfoot td")).Text);
        Assert.Matches(@"^\d+ ms$", Driver.FindElement(By.Id("ttfa")).Text);
        Assert.Matches(@"^\d+\.\d\d$", Driver.FindElement(By.Id("rtf")).Text);
        Assert.Equal("7", Driver.FindElement(By.Id("run-seed")).Text);
        Assert.Single(Driver.FindElements(By.CssSelector("#runs li")));
        Assert.True(Driver.FindElement(By.Id("download")).Enabled);
        Assert.Equal(1, server.Metrics.Completed);

        SaveScreenshot("playground.png");

        // Download saves the run as a 24 kHz PCM16 WAV holding exactly the streamed samples
        long samples = Convert.ToInt64(Js("return window.barkPlayground.runs[0].samples.length"));
        string wav = Path.Combine(chromium.Downloads, $"bark-{Js("return window.barkPlayground.runs[0].id")}.wav");
        File.Delete(wav);
        Driver.FindElement(By.Id("download")).Click();
        Until(_ => File.Exists(wav) && new FileInfo(wav).Length == 44 + 2 * samples, "the WAV download");
        byte[] bytes = File.ReadAllBytes(wav);
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(bytes, 0, 4));
        Assert.Equal(24_000, BitConverter.ToInt32(bytes, 24));
        Assert.Equal(16, BitConverter.ToInt16(bytes, 34));
        Assert.Equal(2 * samples, BitConverter.ToInt32(bytes, 40));
        Assert.Contains(bytes.Skip(44), b => b != 0);

        // Ogg Opus and FLAC are asked of the server again with the run's seed
        Driver.FindElement(By.CssSelector("#format option[value=opus]")).Click();
        string ogg = Path.ChangeExtension(wav, ".ogg");
        File.Delete(ogg);
        Driver.FindElement(By.Id("download")).Click();
        Until(_ => File.Exists(ogg) && new FileInfo(ogg).Length > 100, "the Ogg Opus download");
        Assert.Equal("OggS", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(ogg), 0, 4));
        Driver.FindElement(By.CssSelector("#format option[value=flac]")).Click();
        string flac = Path.ChangeExtension(wav, ".flac");
        File.Delete(flac);
        Driver.FindElement(By.Id("download")).Click();
        Until(_ => File.Exists(flac) && new FileInfo(flac).Length > 42, "the FLAC download");
        Assert.Equal("fLaC", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(flac), 0, 4));
        Assert.Equal(3, server.Metrics.Completed);
    }

    [ToolFact("chromium", "chromedriver")]
    public async Task Stop_aborts_the_request_and_the_server_stops_generating()
    {
        var gate = new SemaphoreSlim(0);
        var engine = new FakeEngine { Pieces = 5, Gate = gate, GateFirst = false };
        await using BarkTestServer server = await BarkTestServer.StartAsync(o => o.WarmUp = false, engine: () => engine);
        Open(server);

        Driver.FindElement(By.Id("speak")).Click();
        await engine.FirstPieceSent.Task.WaitAsync(Wait);
        Until(d => d.FindElements(By.CssSelector("#segments li[data-state=done]")).Count == 1, "the first segment to arrive");
        Assert.Equal("streaming", State);
        Assert.Contains("Segment 2 of 5: generating", Driver.FindElement(By.Id("segments")).Text);
        // the first segment is already in Web Audio while the server still works on the second
        Assert.Equal(0.1, Convert.ToDouble(Js("return window.barkPlayground.scheduledSeconds")), 3);

        Driver.FindElement(By.Id("stop")).Click();
        await engine.Cancelled.Task.WaitAsync(Wait);   // the engine's token fired: the server stopped generating
        Until(_ => State == "stopped", "the page to show the stop");
        var deadline = DateTime.UtcNow + Wait;
        while (server.Metrics.CancelledCount == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(1, server.Metrics.CancelledCount);
        Assert.Equal(0, server.Metrics.Completed);
        Assert.Contains("(stopped)", Driver.FindElement(By.Id("runs")).Text);
        Assert.False(Driver.FindElement(By.Id("error")).Displayed);
    }

    [ToolFact("chromium", "chromedriver")]
    public async Task Server_errors_are_shown_as_sent_and_voices_upload_from_the_page()
    {
        var engine = new FakeEngine { Pieces = 1 };
        await using BarkTestServer server = await BarkTestServer.StartAsync(o => o.WarmUp = false, engine: () => engine);
        Open(server);

        // a voice the server does not know (e.g. deleted since the list loaded)
        Js("const o = document.createElement('option'); o.value = o.textContent = 'nobody'; document.getElementById('voice').append(o); document.getElementById('voice').value = 'nobody';");
        Driver.FindElement(By.Id("speak")).Click();
        Until(_ => State == "error", "the error");
        using HttpResponseMessage direct = await server.PostJsonAsync("/v1/audio/speech", """{"input":"x","voice":"nobody"}""");
        string sent = JsonDocument.Parse(await direct.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.StartsWith("Unknown voice 'nobody'", sent);
        Assert.Equal(sent, Driver.FindElement(By.Id("error")).Text);
        Assert.Equal("alert", Driver.FindElement(By.Id("error")).GetDomAttribute("role"));

        // upload a .npz voice through the file input; it joins the picker, selected
        string npz = Path.Combine(Fixtures.TempDir(), "mine.npz");
        VoicePreset.Load(Fixtures.TinyBark, "v2/en_speaker_6").SaveNpz(npz);
        Driver.FindElement(By.CssSelector("details summary")).Click();
        Driver.FindElement(By.Id("voice-file")).SendKeys(npz);
        Driver.FindElement(By.Id("voice-name")).SendKeys("mine");
        Driver.FindElement(By.Id("upload")).Click();
        Until(_ => Driver.FindElement(By.Id("voice")).GetDomProperty("value") == "voice_mine", "the uploaded voice");
        Assert.Equal("Custom voices", Js("return document.querySelector('#voice option[value=\"voice_mine\"]').parentElement.label"));
        Assert.True(File.Exists(Path.Combine(server.VoicesDirectory, "voice_mine.npz")));

        // speaking again clears the error; Ctrl+Enter in the text box speaks
        Driver.FindElement(By.Id("text")).SendKeys(Keys.Control + Keys.Enter);
        Until(_ => State == "done", "the second run");
        Assert.False(Driver.FindElement(By.Id("error")).Displayed);
    }

    [ToolFact("chromium", "chromedriver")]
    public async Task With_api_keys_the_page_asks_for_one_and_keeps_it_in_the_tab()
    {
        var engine = new FakeEngine { Pieces = 1 };
        await using BarkTestServer server = await BarkTestServer.StartAsync(o =>
        {
            o.ApiKeys = ["s3cret"];
            o.WarmUp = false;
        }, engine: () => engine);
        Open(server);

        Until(d => d.FindElement(By.Id("key-panel")).Displayed, "the key prompt");
        Assert.Equal("Missing API key: send 'Authorization: Bearer KEY'.", Driver.FindElement(By.Id("error")).Text);
        Driver.FindElement(By.Id("api-key")).SendKeys("wrong" + Keys.Enter);
        Until(d => d.FindElement(By.Id("error")).Text == "Incorrect API key provided.", "the wrong key's error");
        IWebElement key = Driver.FindElement(By.Id("api-key"));
        key.Clear();
        key.SendKeys("s3cret" + Keys.Enter);
        Until(d => !d.FindElement(By.Id("key-panel")).Displayed, "the key to be accepted");
        Assert.Contains(VoiceValues(), v => v == "v2/en_speaker_6");
        Assert.Equal("s3cret", Js("return sessionStorage.getItem('bark.apiKey')"));
        Assert.Equal(0L, Convert.ToInt64(Js("return localStorage.length")));

        Driver.FindElement(By.Id("speak")).Click();
        Until(_ => State is "done" or "error", "the keyed run");
        Assert.Equal("done", State);
    }

    [ToolFact("chromium", "chromedriver")]
    public async Task Page_is_labelled_keyboard_usable_and_fits_a_phone()
    {
        var engine = new FakeEngine { Pieces = 2 };
        await using BarkTestServer server = await BarkTestServer.StartAsync(o => o.WarmUp = false, engine: () => engine);
        System.Drawing.Size size = Driver.Manage().Window.Size;
        Driver.Manage().Window.Size = new System.Drawing.Size(390, 844);
        try
        {
            Open(server);
            var wide = (IReadOnlyCollection<object>)Js("""
                return document.documentElement.scrollWidth <= window.innerWidth ? [] :
                  [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth).map(e => e.tagName + '#' + e.id);
                """)!;
            Assert.True(wide.Count == 0, "the page scrolls sideways at 390 px: " + string.Join(", ", wide));

            // every control has a label or an accessible name
            var unlabelled = (IReadOnlyCollection<object>)Js("""
                return [...document.querySelectorAll('input, select, textarea, button, canvas')]
                  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
                  .map(e => e.outerHTML.slice(0, 80));
                """)!;
            Assert.Empty(unlabelled);
            Assert.Equal("polite", Driver.FindElement(By.Id("status")).GetDomAttribute("aria-live"));

            // from the text box, Tab reaches Speak; Enter on it speaks
            Driver.FindElement(By.Id("text")).Click();
            for (int i = 0; i < 20 && Driver.SwitchTo().ActiveElement().GetDomAttribute("id") != "speak"; i++)
                Driver.SwitchTo().ActiveElement().SendKeys(Keys.Tab);
            Assert.Equal("speak", Driver.SwitchTo().ActiveElement().GetDomAttribute("id"));
            Driver.SwitchTo().ActiveElement().SendKeys(Keys.Enter);
            Until(_ => State == "done", "the run started from the keyboard");
            Assert.Equal(2, Driver.FindElements(By.CssSelector("#timings tbody tr")).Count);
        }
        finally
        {
            Driver.Manage().Window.Size = size;
        }
    }

    private void SaveScreenshot(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "artifacts");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        Driver.GetScreenshot().SaveAsFile(path);
        Assert.True(new FileInfo(path).Length > 10_000);
        // BARKSHARP_UPDATE_SCREENSHOT=1 refreshes the README's picture
        if (Environment.GetEnvironmentVariable("BARKSHARP_UPDATE_SCREENSHOT") == "1")
        {
            string docs = Path.GetFullPath(Path.Combine(Fixtures.Root, "..", "..", "docs"));
            Directory.CreateDirectory(docs);
            File.Copy(path, Path.Combine(docs, name), overwrite: true);
        }
    }
}

/// <summary>The page's HTTP side: served without a key, embedded files only, off with <see cref="BarkSharp.Server.BarkServerOptions.Playground"/> false.</summary>
public sealed class PlaygroundEndpointTests
{
    [Fact]
    public async Task Page_and_assets_are_served_without_a_key_and_the_api_still_needs_one()
    {
        var engine = new FakeEngine();
        await using BarkTestServer server = await BarkTestServer.StartAsync(o => o.ApiKeys = ["k"], engine: () => engine);
        using HttpResponseMessage page = await server.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"playground/app.js\"", html);   // relative: works behind a proxy under a path prefix
        Assert.DoesNotContain("https://", html);   // nothing from a CDN
        foreach (string file in new[] { "app.js", "style.css" })
        {
            using HttpResponseMessage r = await server.Http.GetAsync("/playground/" + file);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.DoesNotContain("https://", await r.Content.ReadAsStringAsync());
        }
        using HttpResponseMessage missing = await server.Http.GetAsync("/playground/secrets.json");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using HttpResponseMessage voices = await server.Http.GetAsync("/v1/audio/voices");
        Assert.Equal(HttpStatusCode.Unauthorized, voices.StatusCode);
    }

    [Fact]
    public async Task Playground_off_answers_404()
    {
        var engine = new FakeEngine();
        await using BarkTestServer server = await BarkTestServer.StartAsync(o => o.Playground = false, engine: () => engine);
        using HttpResponseMessage page = await server.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Contains("not_found", await page.Content.ReadAsStringAsync());
        using HttpResponseMessage js = await server.Http.GetAsync("/playground/app.js");
        Assert.Equal(HttpStatusCode.NotFound, js.StatusCode);
    }
}
